/**
 * The disk fills up for real: the worker's data directory is a 4 MB tmpfs (root only; the same
 * behaviour is tested everywhere with a store whose commits fail on demand, in
 * test/registry/fail-closed.test.ts). 300 observations to one session over HTTP: every answer is 200
 * or 507, never 500; a 507 leaves nothing in the log and starts no agent call; the worker recovers by
 * itself when writes succeed again; a client's retries (same tool_use_id) are each processed once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, createLocalAgent } from '../../src/index.js';
import { waitForEngine } from '../support/wait.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

/**
 * A 4 MB tmpfs, if this process may mount one (root, and a kernel that lets it): room for what the 300
 * observations below leave once the ballast is gone (about 2 MB of log, memories included, and up to
 * 1 MB of write-ahead log), and none for it while the ballast is there.
 */
function mountTinyFilesystem(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'session-lifecycle-tiny-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const mountPoint = mountTinyFilesystem();
if (mountPoint === undefined) console.warn('disk-full: cannot mount a tmpfs here (needs root); the on-demand fault tests cover the logic');

describe.runIf(mountPoint !== undefined)('a full disk, for real', () => {
  let worker: TestWorker | undefined;
  const calls = new Map<string, number>();
  const counting: Agent = {
    name: 'counting-local',
    run: (request, signal) => {
      calls.set(request.item.id, (calls.get(request.item.id) ?? 0) + 1);
      return createLocalAgent().run(request, signal);
    },
  };

  beforeAll(async () => {
    worker = await startTestWorker(join(mountPoint!, 'data'), { CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '2' }, counting);
  });
  afterAll(async () => {
    await worker?.stop({ drainMs: 0 }).catch(() => {});
    try {
      execFileSync('umount', ['-l', mountPoint!], { stdio: 'ignore' });
    } finally {
      rmSync(mountPoint!, { recursive: true, force: true });
    }
  });

  it('answers 200 or 507, never 500; keeps nothing of a 507; and processes every retried observation once', async () => {
    const w = worker!;
    const ballast = join(mountPoint!, 'ballast');
    writeFileSync(ballast, Buffer.alloc(2_200_000, 1));
    const session = { contentSessionId: 'disk-full', project: 'p' };
    expect((await w.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fill the disk' } })).status).toBe(200);

    const observation = (n: number) => ({
      contentSessionId: session.contentSessionId,
      tool_name: 'Bash',
      tool_input: { command: `step ${n}` },
      tool_response: 'x'.repeat(4_000),
      tool_use_id: `toolu_${n}`,
    });
    const refused = new Set<string>();
    const readinessSaid = new Set<string>();
    const statuses = new Map<number, number>();
    for (let n = 0; n < 300; n++) {
      const answer = await w.call('POST', '/api/sessions/observations', { body: observation(n) });
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      expect([200, 507]).toContain(answer.status);
      if (answer.status === 507) {
        // Readiness stays 200 and says why (claude-mem 13.x's hooks block the user's prompt after three "not ready").
        const readiness = await w.call('GET', '/api/readiness');
        expect(readiness.status).toBe(200);
        readinessSaid.add(readiness.json.status);
        refused.add(`toolu_${n}`);
        expect(answer.json).toMatchObject({
          error: 'event log unwritable',
          details: [{ problem: expect.stringContaining('the disk is full') }],
        });
        expect(answer.json.details[0].problem).toContain(join(mountPoint!, 'data', 'session-events.db'));
        expect(answer.headers['retry-after']).toBeDefined();
      }
    }
    console.log(`disk-full: first pass ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(refused.size).toBeGreaterThan(0);
    expect(readinessSaid).toContain('log-unwritable');
    // Nothing of a refused observation is anywhere: not in the log, and no agent call was made for it.
    const log = () => w.store.readEvents(1).filter((event) => event.type === 'WORK_QUEUED');
    const logged = new Set(log().map((event) => (event.payload as { item: { id: string } }).item.id));
    for (const id of refused) {
      expect(logged.has(id)).toBe(false);
      expect(calls.get(id)).toBeUndefined();
    }

    rmSync(ballast);
    // The worker notices by itself (a probe write), and its clients retry what was refused.
    const retryUntilAccepted = async (id: string) => {
      const n = Number(id.slice('toolu_'.length));
      for (let attempt = 0; attempt < 100; attempt++) {
        const answer = await w.call('POST', '/api/sessions/observations', { body: observation(n) });
        expect([200, 507]).toContain(answer.status);
        if (answer.status === 200) return;
        await new Promise((resolve) => setTimeout(resolve, 250)); // a hook's own retry, a moment later
      }
      throw new Error(`${id} never accepted; log health: ${JSON.stringify(w.registry.health())}`);
    };
    for (const id of refused) await retryUntilAccepted(id);
    await waitForEngine(w.engine, () => w.registry.get(session)?.lifecycle === 'idle' && w.registry.health().writable, {
      what: 'the session idle on a writable log',
      timeoutMs: 30_000,
    });
    expect((await w.call('GET', '/api/readiness')).status).toBe(200);

    // Every observation once in the log, each answered by exactly one reply.
    const queued = log().map((event) => (event.payload as { item: { id: string } }).item.id);
    expect(queued).toHaveLength(300);
    expect(new Set(queued).size).toBe(300);
    const replies = w.store.readEvents(1).filter((event) => event.type === 'xstate.done.actor.agent');
    expect(replies).toHaveLength(301); // and the prompt's
    expect(w.registry.get(session)).toMatchObject({ lifecycle: 'idle', counters: { queued: 301, processed: 301 } });
    for (const id of refused) expect(calls.get(id)).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
