import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CliIo, main } from '../../src/cli.js';
import { createSessionRegistry, openSqliteStore } from '../../src/index.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();

function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, stopRequested: () => new Promise(() => {}) };
  return { io, out, err };
}

/** A log with one session that went all the way: prompt, work, a failure, idle, expiry, disposal. */
async function recordedLog(): Promise<string> {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 23, 9, 0, 0) });
  const path = join(tempDir(), 'session-events.db');
  const store = openSqliteStore(path);
  let calls = 0;
  const registry = createSessionRegistry({
    store,
    agent: {
      name: 'flaky',
      run: async (request) => {
        if (calls++ === 1) throw new Error('ECONNRESET');
        return { text: `reply to ${request.item.id}` };
      },
    },
    idleTtlMs: 60_000,
    graceMs: 5_000,
    backoffBaseMs: 1_000,
    memoryPressure: false,
  });
  await registry.init({ contentSessionId: 'claude-abc', project: 'my-app' }, { prompt: 'Fix the login bug' });
  await registry.enqueue({ contentSessionId: 'claude-abc' }, { kind: 'observation', prompt: 'Edit src/auth.ts', toolUseId: 'toolu_1' });
  await vi.advanceTimersByTimeAsync(2_000);
  await vi.advanceTimersByTimeAsync(70_000);
  await registry.shutdown();
  store.close();
  vi.useRealTimers();
  return path;
}

afterEach(() => vi.useRealTimers());

describe('session-lifecycle replay', () => {
  it('prints every event with the state after it, and why the session ended', async () => {
    const db = await recordedLog();
    const { io, out, err } = capture();
    expect(await main(['replay', 'claude-abc', '--db', db], io)).toBe(0);
    expect(err).toEqual([]);
    const text = out.join('\n');
    expect(text).toMatch(/^session 1 \(content session claude-abc, project my-app\): disposed: ttl at 2026-11-23 09:01:06\.000 UTC/);
    const lines = text.split('\n').slice(3);
    expect(lines.map((line) => line.split(/\s{2,}/).slice(2, 4))).toEqual([
      ['created', 'idle'],
      ['INIT', 'active.waiting'],
      ['SLOT_GRANTED', 'active.processing'],
      ['WORK_QUEUED', 'active.processing'],
      ['agent done', 'active.waiting'],
      ['SLOT_GRANTED', 'active.processing'],
      ['agent error', 'active.backoff'],
      ['after retryAt', 'active.waiting'],
      ['SLOT_GRANTED', 'active.processing'],
      ['agent done', 'idle'],
      ['after idleDeadline', 'expiring'],
      ['after graceDeadline', 'disposed'],
    ]);
    expect(text).toContain('retryable: ECONNRESET');
    expect(text).toContain('disposed: ttl');
  });

  it('finds the session by its sessionDbId too, and prints JSON on request', async () => {
    const db = await recordedLog();
    const { io, out } = capture();
    expect(await main(['replay', '1', '--db', db, '--json'], io)).toBe(0);
    const timeline = JSON.parse(out.join('\n'));
    expect(timeline.session).toMatchObject({ sessionDbId: 1, status: 'disposed', disposal: { reason: 'ttl' } });
    expect(timeline.entries).toHaveLength(12);
  });

  it('reads the log of the data directory from CLAUDE_MEM_DATA_DIR', async () => {
    const db = await recordedLog();
    const { io, out } = capture({ CLAUDE_MEM_DATA_DIR: tempDir() });
    expect(await main(['replay', '1'], io)).toBe(0);
    expect(out.join('\n')).toContain(`session 1`);
    expect(db).toBe(join(tempDir(), 'session-events.db'));
  });

  it('says clearly what is wrong: no log, no such session, a damaged file, a missing argument', async () => {
    const missing = capture({ CLAUDE_MEM_DATA_DIR: join(tempDir(), 'nothing-here') });
    expect(await main(['replay', '1'], missing.io)).toBe(1);
    expect(missing.err.join('')).toMatch(/no event log at .*nothing-here\/session-events\.db/);

    const db = await recordedLog();
    const unknown = capture();
    expect(await main(['replay', 'no-such-session', '--db', db], unknown.io)).toBe(1);
    expect(unknown.err.join('')).toContain('no session no-such-session');

    const garbage = join(tempDir(), 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(4_096, 1));
    const bad = capture();
    expect(await main(['replay', '1', '--db', garbage], bad.io)).toBe(1);
    expect(bad.err.join('')).toMatch(/garbage\.db is not a SQLite database.*Move it aside/);

    const usage = capture();
    expect(await main(['replay'], usage.io)).toBe(1);
    expect(usage.err.join('')).toContain("missing required argument 'session'");
  });

  it('runs as a program', async () => {
    const db = await recordedLog();
    const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
    const output = execFileSync(process.execPath, ['--import', 'tsx', cli, 'replay', '1', '--db', db], { encoding: 'utf8' });
    expect(output).toContain('after graceDeadline');
  });

  it('prints nothing but JSON through `npm run -s replay -- … --json`, building nothing', async () => {
    const db = await recordedLog();
    const root = new URL('../../', import.meta.url).pathname;
    const output = execFileSync('npm', ['run', '-s', 'replay', '--', '1', '--db', db, '--json'], { cwd: root, encoding: 'utf8' });
    const timeline = JSON.parse(output) as { session: { sessionDbId: number }; entries: unknown[] };
    expect(timeline.session.sessionDbId).toBe(1);
    expect(timeline.entries.length).toBeGreaterThan(5);
  });
});
