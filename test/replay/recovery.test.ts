import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryStore, type EventStore, type SessionRegistry, type SessionRegistryOptions } from '../../src/index.js';
import { controllableAgent, delayedAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';
import { advance } from '../support/time.js';
import { useTempDir } from '../support/tmp.js';

const MINUTE = 60_000;
const abc = { contentSessionId: 'abc', project: 'demo' };
const tempDir = useTempDir();

const harness = useRegistry({ agent: delayedAgent(1_000), idleTtlMs: 60 * MINUTE, graceMs: 30_000 }, 1_700_000_000_000);
const { disposals } = harness;

function start(store: EventStore, options: Partial<SessionRegistryOptions> = {}) {
  return harness.start({ store, ...options });
}

function sqlite() {
  return harness.sqlite(join(tempDir(), 'session-events.db'));
}

/** What a process restart does: the old registry is stopped, its store closed, a new one opens the file. */
async function restart(_old: SessionRegistry, _store: EventStore, options: Partial<SessionRegistryOptions> = {}) {
  const { registry, store, report } = await harness.restart(options);
  return { registry, store: store!, report };
}

describe('recovery', () => {
  it('an idle session 50 min into a 60 min TTL expires 10 min after the restart', async () => {
    const store = sqlite();
    const first = start(store);
    await first.init(abc, { prompt: 'fix the bug' });
    await vi.advanceTimersByTimeAsync(1_000);
    const deadline = first.get(abc)!.idleDeadline!;
    await vi.advanceTimersByTimeAsync(50 * MINUTE);

    const { registry, report } = await restart(first, store);
    expect(report).toMatchObject({ sessions: 1, restored: { idle: 1 } });
    expect(registry.get(abc)).toMatchObject({ lifecycle: 'idle', idleDeadline: deadline });

    await vi.advanceTimersByTimeAsync(deadline - Date.now() - 1);
    expect(registry.get(abc)!.lifecycle).toBe('idle');
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.get(abc)!.lifecycle).toBe('expiring');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(disposals).toEqual([expect.objectContaining({ reason: 'ttl', at: deadline + 30_000 })]);
  });

  it('a deadline that passed while the worker was down expires at once, through expiring', async () => {
    const store = sqlite();
    const first = start(store);
    await first.init(abc, { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(1_000);
    await first.shutdown();
    vi.setSystemTime(Date.now() + 3 * 60 * MINUTE); // three hours down

    const { store: reopened } = await restart(first, store);
    await vi.advanceTimersByTimeAsync(1);
    expect(disposals).toEqual([expect.objectContaining({ reason: 'ttl' })]);
    const types = reopened.readEvents(1).map((e) => e.type);
    // idle (restored) → expiring → disposed, each step in the log.
    expect(types.slice(-3)).toEqual(['RECOVER', 'xstate.after.idleDeadline.session.idle', 'xstate.after.graceDeadline.session.expiring']);
  });

  it('resumes queued work, and retries the agent call the crash interrupted, without appending its prompt twice', async () => {
    const agent = controllableAgent();
    const store = sqlite();
    const first = start(store, { agent: agent.agent, maxBatchItems: 1 });
    await first.init(abc, { prompt: 'p1' });
    await first.enqueue(abc, { kind: 'observation', prompt: 'o1', toolUseId: 't1' });
    await first.enqueue(abc, { kind: 'observation', prompt: 'o2', toolUseId: 't2' });
    await advance(0);
    agent.pending()[0]!.resolve('r1');
    await advance(0);
    expect(agent.pending()[0]!.request.item.id).toBe('t1'); // in flight when the process dies

    const { registry, report, store: reopened } = await restart(first, store, { agent: agent.agent, maxBatchItems: 1 });
    expect(report.restored).toEqual({ 'active.processing': 1 });
    await advance(0);
    const retried = agent.pending();
    expect(retried.map((c) => c.request.item.id)).toEqual(['t1']);
    expect(retried[0]!.request.history.map((m) => m.content)).toEqual(['p1', 'r1', 'o1']);
    retried[0]!.resolve('r2');
    await advance(0);
    agent.pending()[0]!.resolve('r3');
    await advance(0);
    expect(registry.get(abc)).toMatchObject({ lifecycle: 'idle', queueLength: 0, historyLength: 6 });
    const replies = reopened.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent');
    expect(replies.map((e) => (e.payload as { output: { reply: string } }).output.reply)).toEqual(['r1', 'r2', 'r3']);
  });

  it('replays from the latest snapshot plus the tail', async () => {
    const store = sqlite();
    const first = start(store, { agent: delayedAgent(1), snapshotEvery: 5 });
    await first.init(abc, { prompt: 'p' });
    for (let i = 0; i < 12; i++) await first.enqueue(abc, { kind: 'observation', prompt: `o${i}` });
    await advance(100);
    const live = first.get(abc)!;
    const { registry, report } = await restart(first, store, { snapshotEvery: 5 });
    expect(report.fromSnapshots).toBe(1);
    expect(report.eventsReplayed).toBeLessThan(5);
    expect(registry.get(abc)).toMatchObject({ state: live.state, historyLength: live.historyLength, counters: live.counters });
  });

  it('adopts the settings of the process that restores it', async () => {
    const store = sqlite();
    const first = start(store, { agent: delayedAgent(1), maxBatchItems: 1 });
    await first.init(abc, { prompt: 'p' });
    for (let i = 0; i < 10; i++) await first.enqueue(abc, { kind: 'observation', prompt: `o${i}` });
    await advance(100);
    expect(first.get(abc)!.historyLength).toBe(22);
    const { registry } = await restart(first, store, { maxHistoryMessages: 5, idleTtlMs: 10 * MINUTE });
    expect(registry.get(abc)!.historyLength).toBeLessThanOrEqual(5);
    await advance(10 * MINUTE, 1_000);
    expect(registry.get(abc)!.lifecycle).toBe('expiring');
  });

  it('restores a session on the spot when it is addressed before recover() ran', async () => {
    const store = createMemoryStore();
    const first = start(store);
    await first.init(abc, { prompt: 'p' });
    await first.enqueue(abc, { kind: 'observation', prompt: 'o' });
    await first.shutdown();
    const second = start(store);
    const result = await second.enqueue(abc, { kind: 'observation', prompt: 'o2' });
    expect(result).toMatchObject({ ok: true, status: 'queued', queueLength: 3 });
  });

  it('skips an event type it does not know, with a warning, and carries on', async () => {
    const warnings: object[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (details: object) => warnings.push(details) };
    const store = createMemoryStore();
    const first = start(store);
    await first.init(abc, { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(2_000);
    await first.shutdown();
    store.append(1, { type: 'FROM_A_NEWER_VERSION', payload: { type: 'FROM_A_NEWER_VERSION' }, at: Date.now() });
    store.append(1, { type: 'TOUCH', payload: '{not json', at: Date.now() });
    store.append(1, { type: 'WORK_QUEUED', payload: { type: 'WORK_QUEUED' }, at: Date.now() }); // no item: the machine throws

    const second = start(store, { logger });
    const report = await second.recover();
    expect(report.skipped.map((s) => [s.type, s.reason])).toEqual([
      ['FROM_A_NEWER_VERSION', 'unknown event type'],
      ['TOUCH', 'unreadable payload'],
      ['WORK_QUEUED', expect.stringMatching(/the machine rejected it/)],
    ]);
    expect(warnings).toHaveLength(3);
    expect(second.get(abc)!.lifecycle).toBe('idle');
  });

  it('counts a session whose disposal is in the log as disposed, not live', async () => {
    const store = createMemoryStore();
    const first = start(store);
    await first.init(abc, { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(2_000);
    await first.delete(abc);
    // As if the process died between logging the disposal and recording it on the session row.
    (store.getSession(1) as { status: string }).status = 'live';
    const second = start(store);
    expect((await second.recover()).sessions).toBe(0);
    expect(store.getSession(1)!.status).toBe('disposed');
  });
});

describe('compaction', () => {
  it('runs on its own every compactionIntervalMs, after the retention period', async () => {
    const store = sqlite();
    const registry = start(store, { retentionMs: 24 * 60 * MINUTE, compactionIntervalMs: 60 * MINUTE });
    await registry.init(abc, { prompt: 'p' });
    await vi.advanceTimersByTimeAsync(2_000);
    await registry.delete(abc);
    await vi.advanceTimersByTimeAsync(23 * 60 * MINUTE);
    expect(store.getSession(1)!.status).toBe('disposed');
    await vi.advanceTimersByTimeAsync(2 * 60 * MINUTE);
    expect(store.getSession(1)).toMatchObject({ status: 'compacted', summary: { reason: 'deleted', processed: 1 } });
    expect(store.readEvents(1)).toEqual([]);
  });
});
