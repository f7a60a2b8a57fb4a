import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSessionRegistry, openSqliteStore } from '../../src/index.js';
import { openSqliteMemories } from '../../src/memories/index.js';
import { replyNaming } from '../support/crash-reply.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const child = fileURLToPath(new URL('../support/crash-child.ts', import.meta.url));
const tempDir = useTempDir();
const TRIALS = 6;
const SESSIONS = ['crash-a', 'crash-b', 'crash-c'];

function startChild(dbPath: string): Promise<{ process: ChildProcess; restored: number }> {
  return new Promise((resolve, reject) => {
    const process = fork(child, [dbPath], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    process.once('error', reject);
    process.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    process.once('message', (message: { type: string; restored: number }) => {
      if (message.type === 'ready') {
        process.removeAllListeners('exit');
        resolve({ process, restored: message.restored });
      }
    });
  });
}

/** The hooks' rhythm: a few ms between calls, at random (load, not a wait for anything). */
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 4));

describe('crash', () => {
  it(`loses no acknowledged work and stores each reply's memories once when the worker is killed with SIGKILL (${TRIALS} trials)`, async () => {
    const dbPath = join(tempDir(), 'session-events.db');
    const acknowledged = new Set<string>();
    let sent = 0;

    for (let trial = 0; trial < TRIALS; trial++) {
      const { process } = await startChild(dbPath);
      process.on('message', (message: { type: string; id: string }) => {
        if (message.type === 'ack') acknowledged.add(message.id);
      });
      const killAt = Date.now() + 80 + Math.random() * 250;
      while (Date.now() < killAt) {
        const id = `t${trial}-${sent++}`;
        process.send({ type: 'enqueue', id, session: SESSIONS[sent % SESSIONS.length] });
        await jitter();
      }
      const exited = new Promise((resolve) => process.once('exit', resolve));
      process.kill('SIGKILL');
      await exited;
    }
    expect(acknowledged.size).toBeGreaterThan(TRIALS * 10);

    // Restart once more, in process, with a quick agent, and let every restored session finish.
    const store = openSqliteStore(dbPath);
    const memories = openSqliteMemories(store);
    const registry = createSessionRegistry({
      store,
      agent: { name: 'quick', run: async (request) => ({ text: replyNaming(request.items.map((item) => item.id)) }) },
      memoryPressure: false,
    });
    const report = await registry.recover();
    await waitFor(() => registry.stats().byLifecycle.active === 0, {
      what: 'every restored session done',
      timeoutMs: 10_000,
      on: [(recheck) => registry.on('processed', recheck)],
    });
    // The last reply may still be in the store's buffer (readable) while its memories come with its commit.
    await store.flush();

    // Each reply names the items of its batch: every acknowledged item must be in exactly one. And each
    // reply's memories (an observation per item) are stored once: every item's title exactly once.
    const replies = new Map<string, number>();
    let batches = 0;
    let largestBatch = 0;
    const remembered = new Map<string, number>();
    for (const session of SESSIONS) {
      const stored = store.findSession(session);
      if (!stored) continue;
      for (const event of store.readEvents(stored.sessionDbId)) {
        if (event.type !== 'xstate.done.actor.agent') continue;
        const ids = (event.payload as { output: { answers: { id: string }[] } }).output.answers.map((answer) => answer.id);
        batches++;
        largestBatch = Math.max(largestBatch, ids.length);
        for (const id of ids) replies.set(id, (replies.get(id) ?? 0) + 1);
        const observations = await memories.observations({ sessionDbId: stored.sessionDbId, offset: 0, limit: 100_000 });
        const ofThisReply = observations.items.filter((observation) => observation.seq === event.seq);
        expect(ofThisReply.map((observation) => observation.title).sort(), `the memories of reply ${event.seq}`).toEqual([...ids].sort());
        expect(ofThisReply.every((observation) => observation.items.join() === ids.join())).toBe(true);
      }
    }
    for (const observation of (await memories.observations({ offset: 0, limit: 100_000 })).items) {
      remembered.set(observation.title!, (remembered.get(observation.title!) ?? 0) + 1);
    }
    const lost = [...acknowledged].filter((id) => !replies.has(id));
    const twice = [...replies].filter(([, count]) => count > 1);
    const notRemembered = [...replies.keys()].filter((id) => remembered.get(id) !== 1);
    console.log(
      `crash: ${TRIALS} kills, ${sent} items sent, ${acknowledged.size} acknowledged, ${replies.size} replied in ${batches} batches ` +
        `(the largest of ${largestBatch}), ` +
        `${report.sessions} sessions recovered at the end (${report.eventsReplayed} events replayed), ` +
        `${remembered.size} items remembered (${(await memories.stats()).replies} replies stored)`,
    );
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    expect(notRemembered).toEqual([]);
    expect(remembered.size).toBe(replies.size);
    expect((await memories.stats()).replies).toBe(batches);
    expect(largestBatch, 'batches of several items were answered').toBeGreaterThan(1);
    await registry.shutdown();
    await memories.close();
    store.close();
  }, 120_000);
});
