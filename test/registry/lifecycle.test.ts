import { describe, expect, it, vi } from 'vitest';
import type { SessionRegistry, SessionRegistryOptions } from '../../src/index.js';
import { controllableAgent, delayedAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';

const TTL = 60_000;
const GRACE = 5_000;
const abc = { contentSessionId: 'abc', project: 'demo' };

const harness = useRegistry(() => ({ agent: delayedAgent(100), idleTtlMs: TTL, graceMs: GRACE }));
const { disposals } = harness;
let registry: SessionRegistry;

function start(options: Partial<SessionRegistryOptions> = {}) {
  registry = harness.start(options);
  return registry;
}

describe('idle TTL', () => {
  it('goes idle → expiring after the TTL, disposed after the grace, removed with reason ttl', async () => {
    start();
    const expiring = vi.fn();
    registry.on('expiring', expiring);
    const { sessionDbId } = (await registry.init(abc, { prompt: 'fix the login bug' })) as { sessionDbId: number };
    await vi.advanceTimersByTimeAsync(100);
    const idle = registry.get({ sessionDbId })!;
    expect(idle.lifecycle).toBe('idle');
    expect(idle.idleDeadline).toBe(idle.lastActivityAt + TTL);

    await vi.advanceTimersByTimeAsync(TTL - 1);
    expect(registry.get({ sessionDbId })!.lifecycle).toBe('idle');
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.get({ sessionDbId })!.lifecycle).toBe('expiring');
    expect(expiring).toHaveBeenCalledWith(expect.objectContaining({ sessionDbId, graceDeadline: idle.idleDeadline! + GRACE }));

    await vi.advanceTimersByTimeAsync(GRACE);
    expect(registry.get({ sessionDbId })).toBeUndefined();
    expect(registry.list()).toEqual([]);
    expect(disposals).toEqual([expect.objectContaining({ sessionDbId, reason: 'ttl', at: idle.idleDeadline! + GRACE, droppedItems: 0 })]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is revived by work while idle or expiring', async () => {
    start();
    await registry.init(abc, { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(100 + TTL - 10);
    await registry.enqueue(abc, { kind: 'observation', prompt: 'edited a.ts' });
    expect(registry.get(abc)!.lifecycle).toBe('active');
    await vi.advanceTimersByTimeAsync(100);
    expect(registry.get(abc)!.lifecycle).toBe('idle');

    await vi.advanceTimersByTimeAsync(TTL + GRACE / 2);
    expect(registry.get(abc)!.lifecycle).toBe('expiring');
    await registry.enqueue(abc, { kind: 'summarize', prompt: 'summarize please' });
    expect(registry.get(abc)!.lifecycle).toBe('active');
    expect(registry.get(abc)!.counters.revivals).toBe(1);
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(registry.get(abc)!.lifecycle).toBe('idle');
    expect(disposals).toEqual([]);
  });

  it('never expires a session with queued work, however long the agent takes', async () => {
    const agent = controllableAgent();
    start({ agent: agent.agent, maxConcurrentAgents: 1, agentTimeoutMs: 100 * TTL });
    await registry.init(abc, { prompt: 'p1' });
    // The second session waits for the only slot the whole time.
    await registry.init({ contentSessionId: 'xyz', project: 'demo' }, { prompt: 'p2' });
    await vi.advanceTimersByTimeAsync(10 * TTL);
    expect(registry.get(abc)!.state).toBe('active.processing');
    expect(registry.get({ contentSessionId: 'xyz' })!.state).toBe('active.waiting');
    expect(disposals).toEqual([]);
    agent.pending()[0]!.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get({ contentSessionId: 'xyz' })!.state).toBe('active.processing');
  });

  it('counts activity in idle lazily: no timer per event, the deadline moves with the last one', async () => {
    start();
    await registry.init(abc, { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(100);
    const timersWhenIdle = vi.getTimerCount();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 1_000; i++) {
      await vi.advanceTimersByTimeAsync(10);
      await registry.touch(abc);
    }
    expect(setTimeoutSpy).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(timersWhenIdle);
    setTimeoutSpy.mockRestore();

    const lastTouch = registry.get(abc)!.lastActivityAt;
    await vi.advanceTimersByTimeAsync(lastTouch + TTL - Date.now() - 1);
    expect(registry.get(abc)!.lifecycle).toBe('idle');
    await vi.advanceTimersByTimeAsync(1);
    expect(registry.get(abc)!.lifecycle).toBe('expiring');
  });

  it('touch revives an expiring session into idle', async () => {
    start();
    await registry.init(abc, { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(100 + TTL);
    expect(registry.get(abc)!.lifecycle).toBe('expiring');
    await registry.touch(abc);
    expect(registry.get(abc)!.lifecycle).toBe('idle');
    expect(registry.get(abc)!.idleDeadline).toBe(Date.now() + TTL);
  });
});

describe('completion and deletion', () => {
  it('COMPLETE drains the queue, then disposes with reason completed', async () => {
    start();
    await registry.init(abc, { prompt: 'p1' });
    await registry.enqueue(abc, { kind: 'observation', prompt: 'o1' });
    await registry.enqueue(abc, { kind: 'summarize', prompt: 's1' });
    await registry.complete(abc);
    expect(registry.get(abc)!.completing).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(registry.get(abc)).toBeUndefined();
    expect(disposals).toEqual([expect.objectContaining({ reason: 'completed', droppedItems: 0 })]);
    expect(disposals[0]!.counters.processed).toBe(3);
  });

  it('COMPLETE of an idle session disposes it at once', async () => {
    start();
    await registry.init(abc, { prompt: 'p1' });
    await vi.advanceTimersByTimeAsync(100);
    await registry.complete(abc);
    expect(registry.get(abc)).toBeUndefined();
    expect(disposals[0]!.reason).toBe('completed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('DELETE during processing aborts the agent signal; nothing keeps running', async () => {
    const agent = controllableAgent();
    start({ agent: agent.agent });
    await registry.init(abc, { prompt: 'p1' });
    await registry.enqueue(abc, { kind: 'observation', prompt: 'o1' });
    await vi.advanceTimersByTimeAsync(0);
    const [call] = agent.pending();
    expect(call!.signal.aborted).toBe(false);

    expect(await registry.delete(abc)).toEqual({ ok: true, sessionDbId: 1 });
    expect(call!.signal.aborted).toBe(true);
    expect(call!.outcome).toBe('aborted');
    expect(agent.inFlight).toBe(0);
    expect(registry.stats().slots.inUse).toBe(0);
    expect(disposals).toEqual([expect.objectContaining({ reason: 'deleted', droppedItems: 2 })]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(TTL * 2);
    expect(agent.calls).toHaveLength(1);
  });

  it('answers not-found for a session that is not live', async () => {
    start();
    expect(await registry.delete({ sessionDbId: 42 })).toEqual({ ok: false, error: 'not-found' });
    expect(await registry.complete({ contentSessionId: 'nope' })).toEqual({ ok: false, error: 'not-found' });
    expect(await registry.enqueue({ sessionDbId: 42 }, { kind: 'observation', prompt: 'x' })).toEqual({
      ok: false,
      error: 'not-found',
    });
  });
});

describe('history', () => {
  it('appends each prompt once and each reply once, retries included', async () => {
    const agent = controllableAgent();
    start({ agent: agent.agent, backoffBaseMs: 1_000 });
    await registry.init(abc, { prompt: 'the init prompt' });
    await vi.advanceTimersByTimeAsync(0);
    agent.pending()[0]!.reject(new Error('connection reset'));
    await vi.advanceTimersByTimeAsync(0);
    expect(registry.get(abc)!.state).toBe('active.backoff');
    await vi.advanceTimersByTimeAsync(1_000);
    agent.pending()[0]!.resolve('the reply');
    await vi.advanceTimersByTimeAsync(0);

    const view = registry.get(abc)!;
    expect(view.state).toBe('idle');
    expect(view.historyLength).toBe(2);
    expect(agent.calls[1]!.request.history.map((m) => m.content)).toEqual(['the init prompt']);
    expect(agent.calls[1]!.request.attempt).toBe(2);
    expect(view.counters.messagesAppended).toBe(2);
  });

  it('holds the message bound after every append, through the agent', async () => {
    const maxHistoryMessages = 7;
    start({ agent: delayedAgent(1), maxHistoryMessages, maxBatchItems: 1 });
    await registry.init(abc, { prompt: 'init' });
    const lengths: number[] = [];
    registry.on('processed', () => {
      const view = registry.get(abc);
      if (view) lengths.push(view.historyLength);
    });
    for (let i = 0; i < 40; i++) await registry.enqueue(abc, { kind: 'observation', prompt: `o${i}` });
    await vi.advanceTimersByTimeAsync(100);
    expect(registry.get(abc)!.counters.processed).toBe(41);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(maxHistoryMessages);
    expect(registry.get(abc)!.counters.trimmedMessages).toBe(82 - registry.get(abc)!.historyLength);
  });

  it('cuts in steps, so that most agent calls repeat the previous call as their prefix', async () => {
    const maxHistoryMessages = 10;
    const histories: string[][] = [];
    const recording = delayedAgent(1);
    start({
      agent: {
        name: 'recording',
        run: (request, signal) => {
          histories.push(request.history.map((m) => m.content));
          return recording.run(request, signal);
        },
      },
      maxHistoryMessages,
      historyLowWater: 0.5,
      maxBatchItems: 1,
    });
    await registry.init(abc, { prompt: 'init' });
    const lengths: number[] = [];
    registry.on('processed', () => lengths.push(registry.get(abc)?.historyLength ?? 0));
    for (let i = 0; i < 40; i++) await registry.enqueue(abc, { kind: 'observation', prompt: `o${i}` });
    await vi.advanceTimersByTimeAsync(100);
    expect(registry.get(abc)!.counters.processed).toBe(41);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(maxHistoryMessages);
    // A call repeats its predecessor (its history and reply) unless a cut came between them, down to 5
    // messages (then the call's own message, if the cut came with the reply).
    let cuts = 0;
    for (let i = 1; i < histories.length; i++) {
      const previous = histories[i - 1]!;
      const current = histories[i]!;
      if (current.slice(0, previous.length).join('|') === previous.join('|')) continue;
      cuts++;
      expect(current.length).toBeLessThanOrEqual(maxHistoryMessages / 2 + 1);
      expect(current[0]).toBe('init');
    }
    // Each cut frees five messages, and a call adds two: a cut every third call at most, not one per call.
    expect(cuts).toBeGreaterThan(0);
    expect(cuts).toBeLessThanOrEqual(Math.ceil(histories.length / 2.5));
  });

  it('with a low-water mark of 1, slides by one exchange per call once full (no prefix repeats)', async () => {
    const histories: string[][] = [];
    const recording = delayedAgent(1);
    start({
      agent: {
        name: 'recording',
        run: (request, signal) => {
          histories.push(request.history.map((m) => m.content));
          return recording.run(request, signal);
        },
      },
      maxHistoryMessages: 10,
      historyLowWater: 1,
      maxBatchItems: 1,
    });
    await registry.init(abc, { prompt: 'init' });
    for (let i = 0; i < 20; i++) await registry.enqueue(abc, { kind: 'observation', prompt: `o${i}` });
    await vi.advanceTimersByTimeAsync(100);
    const repeated = histories
      .slice(1)
      .filter((current, i) => current.slice(0, histories[i]!.length).join('|') === histories[i]!.join('|'));
    expect(repeated.length).toBeLessThan(6); // only while the window fills
  });

  it('refuses a low-water mark outside (0, 1]', () => {
    expect(() => start({ historyLowWater: 0 })).toThrow(/historyLowWater: must be above 0/);
    expect(() => start({ historyLowWater: 1.5 })).toThrow(/historyLowWater: must be at most 1/);
  });
});
