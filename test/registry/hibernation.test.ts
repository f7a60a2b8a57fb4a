import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore, rebuildSession, type SessionRegistry, type SessionRegistryOptions } from '../../src/index.js';
import { delayedAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';

const TTL = 60 * 60_000;
const GRACE = 30_000;
const HIBERNATE_AFTER = 60_000;
const store = () => createMemoryStore();

const harness = useRegistry(() => ({ agent: delayedAgent(10), idleTtlMs: TTL, graceMs: GRACE, hibernateAfterMs: HIBERNATE_AFTER }));
const { disposals } = harness;
let registry: SessionRegistry;

function start(options: Partial<SessionRegistryOptions> = {}) {
  registry = harness.start(options);
  return registry;
}

const target = (n: number) => ({ contentSessionId: `s${n}`, project: 'p' });

describe('dormancy', () => {
  it('lets go of the actors of long-idle sessions, keeping one timer for all of them', async () => {
    start({ maxActiveSessions: 10_000 });
    for (let n = 0; n < 1_000; n++) await registry.init(target(n), { prompt: `p${n}` });
    await vi.advanceTimersByTimeAsync(6_000); // two agent slots, 10 ms per reply
    expect(registry.stats()).toMatchObject({ live: 1_000, dormant: 0, byLifecycle: { idle: 1_000 } });
    expect(vi.getTimerCount()).toBeGreaterThanOrEqual(1_000); // an idle timer per awake actor
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER);
    expect(registry.stats()).toMatchObject({ live: 1_000, dormant: 1_000, byLifecycle: { idle: 1_000 } });
    expect(vi.getTimerCount()).toBe(1);
    expect(registry.get(target(7))).toMatchObject({ lifecycle: 'idle', historyLength: 2 });
  });

  it('wakes on work, which is processed as usual, and the wake is in the log', async () => {
    const log = store();
    start({ store: log });
    await registry.init(target(1), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    expect(registry.stats().dormant).toBe(1);
    await registry.enqueue(target(1), { kind: 'observation', prompt: 'o' });
    expect(registry.stats().dormant).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(registry.get(target(1))).toMatchObject({
      lifecycle: 'idle',
      historyLength: 4,
      counters: expect.objectContaining({ processed: 2 }),
    });
    const types = log.readEvents(1).map((e) => e.type);
    expect(types.slice(4, 6)).toEqual(['RECOVER', 'WORK_QUEUED']);
    expect((log.readEvents(1)[4]!.payload as { reason: string }).reason).toBe('wake');
  });

  it('expires a dormant session exactly at its deadline, then disposes it after the grace', async () => {
    start();
    await registry.init(target(1), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(100);
    const deadline = registry.get(target(1))!.idleDeadline!;
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER);
    expect(registry.stats().dormant).toBe(1);
    await vi.advanceTimersByTimeAsync(deadline - Date.now() - 1);
    expect(registry.get(target(1))!.lifecycle).toBe('idle');
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.get(target(1))!.lifecycle).toBe('expiring');
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(disposals).toEqual([expect.objectContaining({ reason: 'ttl', at: deadline + GRACE })]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the lazy deadline: a touch wakes it, moves the deadline, and it sleeps again', async () => {
    start();
    await registry.init(target(1), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    await registry.touch(target(1));
    const touchedAt = Date.now();
    expect(registry.stats().dormant).toBe(0);
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER);
    expect(registry.stats().dormant).toBe(1);
    await vi.advanceTimersByTimeAsync(touchedAt + TTL - Date.now() - 1);
    expect(registry.get(target(1))!.lifecycle).toBe('idle');
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.get(target(1))!.lifecycle).toBe('expiring');
  });

  it('evicts dormant sessions for capacity and memory like awake ones', async () => {
    let usage = 0.1;
    start({
      maxActiveSessions: 3,
      memoryPressure: { limitPercent: 50, targetPercent: 1, intervalMs: 2_000_000_000, read: () => ({ usedBytes: usage, limitBytes: 1 }) },
    });
    for (const n of [1, 2, 3]) await registry.init(target(n), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    expect(registry.stats().dormant).toBe(3);
    await registry.init(target(4), { prompt: 'p' });
    expect(disposals.map((d) => [d.contentSessionId, d.reason])).toEqual([['s1', 'capacity']]);
    usage = 0.99;
    registry.checkMemoryPressure();
    await vi.advanceTimersByTimeAsync(0); // disposals are announced once the log has them
    // Every idle session goes (s2, s3, both dormant); s4 is active and stays.
    expect(disposals.slice(1).map((d) => [d.contentSessionId, d.reason])).toEqual([
      ['s2', 'memory-pressure'],
      ['s3', 'memory-pressure'],
    ]);
    expect(registry.get(target(4))!.lifecycle).toBe('active');
  });

  it('replays through sleep and wake to exactly the state it holds', async () => {
    const log = store();
    start({ store: log });
    await registry.init(target(1), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    await registry.touch(target(1));
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    await registry.enqueue(target(1), { kind: 'summarize', prompt: 's' });
    await vi.advanceTimersByTimeAsync(HIBERNATE_AFTER + 100);
    const rebuilt = rebuildSession(log, log.getSession(1)!, { useSnapshot: false })!;
    const view = registry.get(target(1))!;
    expect(rebuilt.skipped).toEqual([]);
    expect(rebuilt.value).toBe('idle');
    expect(rebuilt.context.lastActivityAt).toBe(view.lastActivityAt);
    expect(rebuilt.context.counters).toEqual(view.counters);
    expect(rebuilt.context.idleDeadline).toBe(view.idleDeadline);
  });

  it('can be turned off', async () => {
    start({ hibernateAfterMs: false });
    await registry.init(target(1), { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(10 * HIBERNATE_AFTER);
    expect(registry.stats().dormant).toBe(0);
  });
});
