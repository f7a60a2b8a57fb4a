/**
 * Limits with names, and a start that fails says so in one line: identifiers beyond their documented
 * length get 400 naming the field (and nothing is stored); a busy port, a data directory that cannot
 * be used and a bad setting each end `session-lifecycle serve` with one line, a non-zero exit, no stack.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killOnExit } from '../support/children.js';
import { freePort, startWorkerProcess } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

describe('named limits', () => {
  let worker: TestWorker;
  let dir: string;
  beforeAll(async () => {
    dir = mkdirTemp();
    worker = await startTestWorker(dir);
  });
  afterAll(async () => {
    await worker.stop({ drainMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, string, Record<string, unknown>, string][] = [
    [
      'a 257-character contentSessionId',
      '/api/sessions/init',
      { contentSessionId: 'c'.repeat(257), project: 'p', prompt: 'x' },
      'contentSessionId',
    ],
    [
      'a 2,000,000-character contentSessionId',
      '/api/sessions/init',
      { contentSessionId: 'c'.repeat(2_000_000), project: 'p', prompt: 'x' },
      'contentSessionId',
    ],
    ['a 257-character project', '/api/sessions/init', { contentSessionId: 'ok', project: 'p'.repeat(257), prompt: 'x' }, 'project'],
    [
      'a 257-character tool_use_id',
      '/api/sessions/observations',
      { contentSessionId: 'ok', tool_name: 'Bash', tool_use_id: 't'.repeat(257) },
      'tool_use_id',
    ],
    ['a 257-character tool_name', '/api/sessions/observations', { contentSessionId: 'ok', tool_name: 'B'.repeat(257) }, 'tool_name'],
    [
      'a 257-character contentSessionId to summarize',
      '/api/sessions/summarize',
      { contentSessionId: 'c'.repeat(257), last_assistant_message: 'm' },
      'contentSessionId',
    ],
  ];
  for (const [what, path, body, field] of cases) {
    it(`answers 400 naming ${field} for ${what}, and stores nothing`, async () => {
      const answer = await worker.call('POST', path, { body });
      expect(answer.status).toBe(400);
      expect(answer.json.details).toContainEqual({ field, problem: `${field} must be at most ${field === 'cwd' ? 4096 : 256} characters` });
      expect(worker.store.findSession(String(body.contentSessionId))).toBeUndefined();
      expect(worker.registry.list()).toEqual([]);
    });
  }

  it('accepts identifiers at the limit', async () => {
    const answer = await worker.call('POST', '/api/sessions/init', {
      body: { contentSessionId: 'c'.repeat(256), project: 'p'.repeat(256), prompt: 'x' },
    });
    expect(answer.status).toBe(200);
  });
});

function mkdirTemp(): string {
  const dir = join(tempDir(), `w${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs `session-lifecycle serve` to its end: exit code and everything it printed. */
function serve(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = killOnExit(
    spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: { ...process.env, CLAUDE_MEM_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

/** The last line printed, which must be the only line on stderr-like output: `session-lifecycle: …`. */
function failureLine(output: string): string {
  const lines = output
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('{')); // pino's JSON log lines before the failure, if any
  expect(lines).toHaveLength(1);
  expect(output).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('a start that cannot succeed', () => {
  let blocker: Server | undefined;
  afterAll(() => blocker?.close());

  it('on a busy port: one line saying what to do, exit 1, and the log released', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    const dataDir = mkdirTemp();
    const { code, output } = await serve({ CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_WORKER_PORT: String(port) });
    expect(code).toBe(1);
    expect(failureLine(output)).toBe(
      `session-lifecycle: port ${port} on 127.0.0.1 is already in use (another worker, or another program): stop it, or choose another port with CLAUDE_MEM_WORKER_PORT or --port`,
    );
    // It let go of the log on its way out: another worker on the same directory starts.
    blocker.close();
    const next = await startWorkerProcess({ CLAUDE_MEM_DATA_DIR: dataDir }, await freePort());
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });

  it('on a data directory that cannot be one (a file stands there): one line naming it', async () => {
    const file = join(mkdirTemp(), 'not-a-directory');
    writeFileSync(file, 'x');
    const { code, output } = await serve({ CLAUDE_MEM_DATA_DIR: file, CLAUDE_MEM_WORKER_PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(failureLine(output)).toBe(
      `session-lifecycle: ${file} is not a directory: point CLAUDE_MEM_DATA_DIR at a directory (it is created if missing)`,
    );
  });

  it('on a data directory that cannot be written (a read-only mount): one line naming it', async (context) => {
    const mountPoint = mkdirTemp();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      context.skip(); // needs root; the file case above covers the wording
    }
    try {
      const { code, output } = await serve({ CLAUDE_MEM_DATA_DIR: mountPoint, CLAUDE_MEM_WORKER_PORT: String(await freePort()) });
      expect(code).toBe(1);
      expect(failureLine(output)).toBe(
        `session-lifecycle: cannot create the lock file ${mountPoint}/session-events.db.lock: ${mountPoint} is on a read-only file system`,
      );
    } finally {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
    }
  });

  it('on a bad setting: one line naming the key', async () => {
    const { code, output } = await serve({ CLAUDE_MEM_DATA_DIR: mkdirTemp(), CLAUDE_MEM_SESSION_TTL_MINUTES: '-5' });
    expect(code).toBe(1);
    expect(failureLine(output)).toMatch(/^session-lifecycle: CLAUDE_MEM_SESSION_TTL_MINUTES="-5" \(from the environment\) is not allowed/);
  });
});
