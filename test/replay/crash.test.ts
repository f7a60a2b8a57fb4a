import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSessionRegistry, openSqliteStore } from '../../src/index.js';
import { useTempDir } from '../support/tmp.js';

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crash', () => {
  it(`loses no acknowledged work when the worker is killed with SIGKILL (${TRIALS} trials)`, async () => {
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
        await sleep(Math.random() * 4);
      }
      const exited = new Promise((resolve) => process.once('exit', resolve));
      process.kill('SIGKILL');
      await exited;
    }
    expect(acknowledged.size).toBeGreaterThan(TRIALS * 10);

    // Restart once more, in process, with a quick agent, and let every restored session finish.
    const store = openSqliteStore(dbPath);
    const registry = createSessionRegistry({
      store,
      agent: { name: 'quick', run: async (request) => ({ text: `reply:${request.items.map((item) => item.id).join(',')}` }) },
      memoryPressure: false,
    });
    const report = await registry.recover();
    for (let waited = 0; registry.stats().byLifecycle.active > 0 && waited < 10_000; waited += 10) await sleep(10);
    expect(registry.stats().byLifecycle.active).toBe(0);

    // Each reply names the items of its batch: every acknowledged item must be in exactly one.
    const replies = new Map<string, number>();
    let batches = 0;
    let largestBatch = 0;
    for (const session of SESSIONS) {
      const stored = store.findSession(session);
      if (!stored) continue;
      for (const event of store.readEvents(stored.sessionDbId)) {
        if (event.type !== 'xstate.done.actor.agent') continue;
        const reply = (event.payload as { output: { reply: string } }).output.reply;
        const ids = reply.replace(/^reply:/, '').split(',');
        batches++;
        largestBatch = Math.max(largestBatch, ids.length);
        for (const id of ids) replies.set(id, (replies.get(id) ?? 0) + 1);
      }
    }
    const lost = [...acknowledged].filter((id) => !replies.has(id));
    const twice = [...replies].filter(([, count]) => count > 1);
    console.log(
      `crash: ${TRIALS} kills, ${sent} items sent, ${acknowledged.size} acknowledged, ${replies.size} replied in ${batches} batches ` +
        `(the largest of ${largestBatch}), ` +
        `${report.sessions} sessions recovered at the end (${report.eventsReplayed} events replayed)`,
    );
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    expect(largestBatch, 'batches of several items were answered').toBeGreaterThan(1);
    await registry.shutdown();
    store.close();
  }, 120_000);
});
