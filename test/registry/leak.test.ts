import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Agent, createSessionRegistry } from '../../src/index.js';

const SESSIONS = Number(process.env.LEAK_SESSIONS ?? 50_000);
const BATCH = 250;
const MB = 1024 * 1024;

const replyOfOneKilobyte: Agent = {
  name: 'instant',
  run: async (request) => ({ text: `reply to ${request.item.id} `.padEnd(1_024, '.') }),
};

function heapAfterFullGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc (vitest.config.ts passes it to the workers)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// Not the registry harness (test/support/registry.ts): it keeps every disposal it sees, and this test
// counts the heap after 50,000 of them.
beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

describe('no leak', () => {
  it(`creates, fills and disposes ${SESSIONS.toLocaleString('en')} sessions and ends where it started`, async () => {
    const registry = createSessionRegistry({
      agent: replyOfOneKilobyte,
      idleTtlMs: 1_000,
      graceMs: 100,
      maxActiveSessions: BATCH,
      maxConcurrentAgents: 8,
      memoryPressure: false,
    });
    let disposed = 0;
    registry.on('disposed', () => disposed++);

    const runBatch = async (first: number) => {
      for (let n = first; n < first + BATCH; n++) {
        const target = { contentSessionId: `session-${n}`, project: 'leak' };
        await registry.init(target, { prompt: 'init prompt '.padEnd(2_048, '.') });
        for (let i = 0; i < 3; i++) {
          await registry.enqueue(target, { kind: 'observation', prompt: `observation ${i} `.padEnd(5_120, '.'), toolUseId: `t${n}-${i}` });
        }
      }
      // Let the agents work, then let every session go idle → expiring → disposed.
      await vi.advanceTimersByTimeAsync(10);
      await vi.advanceTimersByTimeAsync(1_000 + 100 + 10);
    };

    await runBatch(-BATCH); // warm-up: JIT, xstate's caches, the Map's backing store
    const before = heapAfterFullGc();
    for (let first = 0; first < SESSIONS; first += BATCH) await runBatch(first);
    const after = heapAfterFullGc();

    expect(disposed).toBe(SESSIONS + BATCH);
    expect(registry.list()).toEqual([]);
    expect(registry.stats().live).toBe(0);
    expect(registry.stats().totals.processed).toBe((SESSIONS + BATCH) * 4);
    expect(vi.getTimerCount()).toBe(0);
    console.log(
      `heap before ${(before / MB).toFixed(1)} MB, after ${(after / MB).toFixed(1)} MB, delta ${((after - before) / MB).toFixed(2)} MB`,
    );
    expect(after - before).toBeLessThan(20 * MB);
    await registry.shutdown();
  }, 300_000);
});
