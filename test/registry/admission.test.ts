import { describe, expect, it, vi } from 'vitest';
import { createSessionRegistry, type SessionRegistry } from '../../src/index.js';
import { controllableAgent, delayedAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';

const harness = useRegistry({}, 0);
const { disposals } = harness;
let registry: SessionRegistry;
const session = (n: number) => ({ contentSessionId: `s${n}`, project: 'demo' });

describe('capacity', () => {
  it('evicts the least recently active idle session for the 4th when the limit is 3', async () => {
    registry = harness.start({ agent: delayedAgent(10), maxActiveSessions: 3, memoryPressure: false });
    for (const n of [1, 2, 3]) {
      await registry.init(session(n), { prompt: `p${n}` });
      await vi.advanceTimersByTimeAsync(1_000);
    }
    await registry.touch(session(1)); // s2 is now the least recently active
    await vi.advanceTimersByTimeAsync(1_000);

    const fourth = await registry.init(session(4), { prompt: 'p4' });
    expect(fourth).toMatchObject({ ok: true, created: true });
    expect(disposals).toEqual([expect.objectContaining({ contentSessionId: 's2', reason: 'capacity' })]);
    expect(
      registry
        .list()
        .map((s) => s.contentSessionId)
        .sort(),
    ).toEqual(['s1', 's3', 's4']);
    expect(registry.stats().disposals.capacity).toBe(1);
  });

  it('refuses a new session when every live one is active, and creates nothing', async () => {
    const agent = controllableAgent();
    registry = harness.start({
      agent: agent.agent,
      maxActiveSessions: 3,
      maxConcurrentAgents: 1,
      retryAfterMs: 7_000,
      memoryPressure: false,
    });
    for (const n of [1, 2, 3]) await registry.init(session(n), { prompt: `p${n}` });
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.stats().byLifecycle.active).toBe(3);

    expect(await registry.init(session(4), { prompt: 'p4' })).toEqual({ ok: false, error: 'at-capacity', retryAfterMs: 7_000 });
    expect(await registry.enqueue(session(5), { kind: 'observation', prompt: 'o' })).toMatchObject({ error: 'at-capacity' });
    expect(registry.stats()).toMatchObject({ live: 3, refusedAtCapacity: 2 });
    expect(registry.get(session(4))).toBeUndefined();
    // Work for a live session is still accepted.
    expect(await registry.enqueue(session(1), { kind: 'observation', prompt: 'o' })).toMatchObject({ status: 'queued' });
  });
});

describe('queue bound', () => {
  it('refuses work beyond maxQueuedItems for a session, queues nothing of it, and accepts again once it drains', async () => {
    const agent = controllableAgent();
    registry = harness.start({ agent: agent.agent, maxQueuedItems: 3, retryAfterMs: 2_000, memoryPressure: false });
    await registry.init(session(1), { prompt: 'p' });
    await registry.enqueue(session(1), { kind: 'observation', prompt: 'o1' });
    await registry.enqueue(session(1), { kind: 'observation', prompt: 'o2' });
    expect(await registry.enqueue(session(1), { kind: 'observation', prompt: 'o3' })).toEqual({
      ok: false,
      error: 'queue-full',
      retryAfterMs: 2_000,
    });
    expect(await registry.init(session(1), { prompt: 'another prompt' })).toMatchObject({ ok: false, error: 'queue-full' });
    expect(registry.get(session(1))).toMatchObject({ queueLength: 3, counters: expect.objectContaining({ queued: 3 }) });
    expect(registry.stats().refusedQueueFull).toBe(2);
    // Other sessions are not affected.
    expect(await registry.enqueue(session(2), { kind: 'observation', prompt: 'x' })).toMatchObject({ ok: true });
    await vi.advanceTimersByTimeAsync(0);
    agent.calls[0]!.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(await registry.enqueue(session(1), { kind: 'observation', prompt: 'o3' })).toMatchObject({ ok: true, status: 'queued' });
  });
});

describe('agent failures', () => {
  it('retries a retryable failure with exponential backoff, then drops the item after maxAttempts', async () => {
    const agent = controllableAgent();
    registry = harness.start({
      agent: agent.agent,
      maxAttempts: 3,
      backoffBaseMs: 1_000,
      memoryPressure: false,
    });
    await registry.init(session(1), { prompt: 'p1' });
    await registry.enqueue(session(1), { kind: 'observation', prompt: 'o1' });
    await vi.advanceTimersByTimeAsync(0);

    agent.pending()[0]!.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get(session(1))).toMatchObject({ state: 'active.backoff', attempt: 1, retryAt: Date.now() + 1_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(agent.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(agent.calls).toHaveLength(2);

    agent.pending()[0]!.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get(session(1))).toMatchObject({ attempt: 2, retryAt: Date.now() + 2_000 });
    await vi.advanceTimersByTimeAsync(2_000);
    agent.pending()[0]!.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(0);

    // Third failure: the item is dropped, the next one is taken up at once.
    const view = registry.get(session(1))!;
    expect(view).toMatchObject({ state: 'active.processing', queueLength: 1, attempt: 0 });
    expect(view.counters).toMatchObject({ failed: 1, retries: 2 });
    expect(agent.pending()[0]!.request.item.prompt).toBe('o1');
  });

  it('drops a fatal failure at once', async () => {
    const { AgentError } = await import('../../src/index.js');
    const agent = controllableAgent();
    registry = harness.start({ agent: agent.agent, memoryPressure: false });
    await registry.init(session(1), { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(0);
    agent.pending()[0]!.reject(new AgentError('fatal', '400: prompt too long'));
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get(session(1))).toMatchObject({
      state: 'idle',
      counters: expect.objectContaining({ failed: 1, retries: 0 }),
      lastFailure: expect.objectContaining({ kind: 'fatal', message: '400: prompt too long' }),
    });
  });

  it('pauses on auth or quota refusal with the queue kept, then tries again', async () => {
    const { AgentError } = await import('../../src/index.js');
    const agent = controllableAgent();
    registry = harness.start({ agent: agent.agent, pauseMs: 60_000, memoryPressure: false });
    await registry.init(session(1), { prompt: 'p1' });
    await registry.enqueue(session(1), { kind: 'observation', prompt: 'o1' });
    await vi.advanceTimersByTimeAsync(0);
    agent.pending()[0]!.reject(new AgentError('paused', '401 invalid api key'));
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get(session(1))).toMatchObject({ state: 'active.paused', queueLength: 2, attempt: 0 });
    expect(registry.stats().slots.inUse).toBe(0);

    await vi.advanceTimersByTimeAsync(59_999);
    expect(agent.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(agent.calls).toHaveLength(2);
    expect(agent.calls[1]!.request.item.prompt).toBe('p1');
  });

  it('honours a provider Retry-After when pausing', async () => {
    const { AgentError } = await import('../../src/index.js');
    const agent = controllableAgent();
    registry = harness.start({ agent: agent.agent, pauseMs: 60_000, memoryPressure: false });
    await registry.init(session(1), { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(0);
    agent.pending()[0]!.reject(new AgentError('paused', 'quota', 5_000));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(agent.calls).toHaveLength(2);
  });

  it('times out a silent agent, aborts its signal and backs off', async () => {
    const agent = controllableAgent();
    registry = harness.start({
      agent: agent.agent,
      agentTimeoutMs: 30_000,
      backoffBaseMs: 1_000,
      memoryPressure: false,
    });
    await registry.init(session(1), { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(agent.calls[0]!.signal.aborted).toBe(true);
    expect(registry.get(session(1))).toMatchObject({
      state: 'active.backoff',
      lastFailure: expect.objectContaining({ kind: 'timeout' }),
    });
    expect(registry.stats().slots.inUse).toBe(0);
  });
});

describe('memory pressure', () => {
  it('evicts idle sessions oldest first by Orleans’ surplus, and never an active one', async () => {
    const agent = controllableAgent();
    let usage = 0.5;
    registry = harness.start({
      agent: agent.agent,
      maxConcurrentAgents: 10,
      memoryPressure: { limitPercent: 80, targetPercent: 75, intervalMs: 1_000, read: () => ({ usedBytes: usage * 1e9, limitBytes: 1e9 }) },
    });
    for (let n = 1; n <= 10; n++) {
      await registry.init(session(n), { prompt: `p${n}` });
      await vi.advanceTimersByTimeAsync(0);
      if (n <= 8) agent.pending()[0]!.resolve('ok'); // s9 and s10 stay active
      await vi.advanceTimersByTimeAsync(100);
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(disposals).toEqual([]);

    usage = 0.95; // surplus = 10 − ⌊10 × 0.75 / 0.95⌋ = 3
    await vi.advanceTimersByTimeAsync(1_000);
    expect(disposals.map((d) => [d.contentSessionId, d.reason])).toEqual([
      ['s1', 'memory-pressure'],
      ['s2', 'memory-pressure'],
      ['s3', 'memory-pressure'],
    ]);

    usage = 0.99; // surplus over 7 sessions is 2, but only idle ones go: s4, s5
    registry.checkMemoryPressure();
    await vi.advanceTimersByTimeAsync(0); // disposals are announced once the log has them
    expect(disposals.map((d) => d.contentSessionId).slice(3)).toEqual(['s4', 's5']);
    expect(registry.get(session(9))!.lifecycle).toBe('active');
  });

  it('stops polling at shutdown', async () => {
    registry = harness.start({ agent: delayedAgent(1), memoryPressure: { intervalMs: 1_000 } });
    expect(vi.getTimerCount()).toBe(1);
    await registry.shutdown();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('shutdown', () => {
  it('stops every actor without disposing it and aborts in-flight agent calls after the drain period', async () => {
    const agent = controllableAgent();
    registry = harness.start({ agent: agent.agent, maxConcurrentAgents: 2, memoryPressure: false });
    for (const n of [1, 2, 3]) await registry.init(session(n), { prompt: `p${n}` });
    await vi.advanceTimersByTimeAsync(0);
    const closing = registry.shutdown({ drainMs: 1_000 });
    agent.pending()[0]!.resolve('finished in time');
    await vi.advanceTimersByTimeAsync(1_000);
    const report = await closing;
    expect(report).toEqual({ stopped: 3, abortedAgentCalls: 1 });
    // No new call started during the drain, the unfinished one was aborted, nobody was disposed.
    expect(agent.calls).toHaveLength(2);
    expect(agent.calls[1]!.outcome).toBe('aborted');
    expect(disposals).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    expect(await registry.init(session(4), { prompt: 'late' })).toEqual({ ok: false, error: 'shutting-down' });
  });
});

describe('options', () => {
  const agent = { name: 'x', run: async () => ({ text: 'x' }) };
  it.each([
    [{ idleTtlMs: 0 }, /idleTtlMs/],
    [{ idleTtlMs: Number.NaN }, /idleTtlMs/],
    [{ maxActiveSessions: 2.5 }, /maxActiveSessions/],
    [{ maxConcurrentAgents: 0 }, /maxConcurrentAgents/],
    [{ maxHistoryMessages: -1 }, /maxHistoryMessages/],
    [{ graceMs: -5 }, /graceMs/],
    [{ maxBatchItems: 0 }, /maxBatchItems/],
    [{ maxBatchTokens: 1.5 }, /maxBatchTokens/],
    [{ idleTtlMs: 30 * 24 * 3_600_000 }, /idleTtlMs: must be at most 2147483647/],
    [{ memoryPressure: { intervalMs: 1e12 } }, /intervalMs/],
    [{ memoryPressure: { limitPercent: 70, targetPercent: 75 } }, /targetPercent/],
    [{ memoryPressure: { limitPercent: 120 } }, /limitPercent/],
  ])('rejects %o with a message naming the option', (bad, message) => {
    expect(() => createSessionRegistry({ agent, ...bad } as never)).toThrow(message);
  });

  it('rejects a missing agent', () => {
    expect(() => createSessionRegistry({} as never)).toThrow(/agent/);
  });
});
