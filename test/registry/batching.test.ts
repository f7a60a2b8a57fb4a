/**
 * Batches: when a slot is granted, the agent is given every queued observation at the head of the
 * queue (up to maxBatchItems and maxBatchTokens) in one call, and one reply answers them all. Every
 * guarantee of a single item holds per batch: the history bound after every append, the reply in
 * history once, retries of the same batch with attempts counted per batch, pause, abort on DELETE,
 * and no call on work that is not durable.
 */
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AgentError, createMemoryStore, type SessionRegistry, type SessionRegistryOptions } from '../../src/index.js';
import { controllableAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const abc = { contentSessionId: 'abc', project: 'demo' };
const tempDir = useTempDir();

let agent: ReturnType<typeof controllableAgent>;
beforeEach(() => {
  agent = controllableAgent();
});
const harness = useRegistry(() => ({ agent: agent.agent, maxBatchItems: 3 }));
const { disposals } = harness;
let registry: SessionRegistry;

function start(options: Partial<SessionRegistryOptions> = {}) {
  registry = harness.start(options);
  return registry;
}

const observe = (prompt: string, toolUseId?: string) =>
  registry.enqueue(abc, { kind: 'observation', prompt, ...(toolUseId === undefined ? {} : { toolUseId }) });
const summarize = (prompt: string) => registry.enqueue(abc, { kind: 'summarize', prompt });
const settle = () => vi.advanceTimersByTimeAsync(0);
/** The items of each call made so far, by their prompts. */
const batches = () => agent.calls.map((call) => call.request.items.map((item) => item.prompt));

/** A session whose init prompt is being answered, so that what is queued next waits for one grant. */
async function busyWithPrompt() {
  await registry.init(abc, { prompt: 'init' });
  await settle();
  expect(agent.pending()).toHaveLength(1);
}

async function answerAll(reply = (items: readonly { prompt: string }[]) => `re: ${items.map((item) => item.prompt).join(' ')}`) {
  for (let i = 0; i < 100 && agent.pending().length > 0; i++) {
    const call = agent.pending()[0]!;
    call.resolve(reply(call.request.items));
    await settle();
  }
}

describe('batches', () => {
  it('gives the agent every queued observation at the head in one call, up to maxBatchItems', async () => {
    start();
    await busyWithPrompt();
    for (const prompt of ['o1', 'o2', 'o3', 'o4', 'o5']) await observe(prompt);
    await answerAll();
    expect(batches()).toEqual([['init'], ['o1', 'o2', 'o3'], ['o4', 'o5']]);
    const view = registry.get(abc)!;
    expect(view).toMatchObject({ lifecycle: 'idle', queueLength: 0 });
    expect(view.counters).toMatchObject({ queued: 6, processed: 6, failed: 0 });
  });

  it('keeps a prompt and a summarize as batches of their own, and observations in their order', async () => {
    start();
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    await summarize('s1');
    await observe('o3');
    await registry.init(abc, { prompt: 'p2' });
    await observe('o4');
    await answerAll();
    expect(batches()).toEqual([['init'], ['o1', 'o2'], ['s1'], ['o3'], ['p2'], ['o4']]);
  });

  it('keeps a batch of several within maxBatchTokens; a single item larger than that still goes, alone', async () => {
    start({ maxBatchItems: 10, maxBatchTokens: 10 });
    await busyWithPrompt();
    await observe('x'.repeat(100)); // 25 tokens: over the budget alone
    for (const prompt of ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb', 'cccccccccccccccc']) await observe(prompt); // 4 tokens each
    await answerAll();
    expect(batches().map((items) => items.length)).toEqual([1, 1, 2, 1]);
  });

  it('takes a quarter of maxHistoryTokens as the token budget by default, so a batch and its reply stay in the history', async () => {
    start({ maxBatchItems: 10, maxHistoryTokens: 400 });
    await busyWithPrompt();
    for (let i = 0; i < 5; i++) await observe(`${i}`.repeat(160)); // 40 tokens each: two fit in 100
    await answerAll();
    expect(batches().map((items) => items.length)).toEqual([1, 2, 2, 1]);
  });

  it('puts the batch in history as one user message and its reply once; the agent is given both the items and the message', async () => {
    start();
    await busyWithPrompt();
    await observe('o1', 't1');
    await observe('o2', 't2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    const call = agent.pending()[0]!;
    expect(call.request.items.map((item) => item.id)).toEqual(['t1', 't2']);
    expect(call.request.item).toMatchObject({ id: 't1', kind: 'observation', prompt: 'o1\n\no2' });
    expect(call.request.history.map((m) => [m.role, m.content])).toEqual([
      ['user', 'init'],
      ['assistant', 'ack'],
      ['user', 'o1\n\no2'],
    ]);
    call.resolve('r12');
    await settle();
    const view = registry.get(abc)!;
    expect(view.historyLength).toBe(4);
    expect(view.counters).toMatchObject({ messagesAppended: 4, processed: 3 });
  });

  it('holds the history bound after every append, batch after batch', async () => {
    const maxHistoryMessages = 5;
    start({ maxHistoryMessages });
    const lengths: number[] = [];
    registry.on('processed', () => lengths.push(registry.get(abc)?.historyLength ?? 0));
    await busyWithPrompt();
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) await observe(`o${round}-${i}`);
      await answerAll();
    }
    const view = registry.get(abc)!;
    expect(view.counters.processed).toBe(25);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(maxHistoryMessages);
    expect(view.counters.trimmedMessages).toBe(view.counters.messagesAppended - view.historyLength);
    expect(view.historyLength).toBeGreaterThan(1);
  });

  it('retries a failed batch as the same batch, counting attempts per batch, and drops it whole when spent', async () => {
    start({ maxAttempts: 2, backoffBaseMs: 1_000 });
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    agent.pending()[0]!.reject(new Error('ECONNRESET'));
    await settle();
    expect(registry.get(abc)).toMatchObject({ state: 'active.backoff', attempt: 1 });
    await observe('o3'); // arrives during the backoff: not part of the batch being retried
    await vi.advanceTimersByTimeAsync(1_000);
    const retry = agent.pending()[0]!;
    expect(retry.request.items.map((item) => item.prompt)).toEqual(['o1', 'o2']);
    expect(retry.request.attempt).toBe(2);
    // The batch's message entered history once, on the first attempt.
    expect(retry.request.history.filter((m) => m.content === 'o1\n\no2')).toHaveLength(1);
    retry.reject(new Error('ECONNRESET'));
    await settle();
    const view = registry.get(abc)!;
    expect(view.counters).toMatchObject({ failed: 2, retries: 1 });
    expect(view.lastFailure).toMatchObject({ kind: 'retryable' });
    expect(agent.pending()[0]!.request.items.map((item) => item.prompt)).toEqual(['o3']);
    expect(agent.pending()[0]!.request.attempt).toBe(1);
  });

  it('sends the items of a batch the provider refuses as fatal again one at a time, so one bad item does not sink the rest', async () => {
    start();
    await busyWithPrompt();
    for (const prompt of ['o1', 'bad', 'o3', 'o4']) await observe(prompt);
    agent.pending()[0]!.resolve('ack');
    await settle();
    agent.pending()[0]!.reject(new AgentError('fatal', '400: the request is too large'));
    await settle();
    for (let i = 0; i < 10 && agent.pending().length > 0; i++) {
      const call = agent.pending()[0]!;
      if (call.request.items.some((item) => item.prompt === 'bad')) call.reject(new AgentError('fatal', '400: unreadable'));
      else call.resolve('ok');
      await settle();
    }
    expect(batches()).toEqual([['init'], ['o1', 'bad', 'o3'], ['o1'], ['bad'], ['o3'], ['o4']]);
    expect(registry.get(abc)!.counters).toMatchObject({ processed: 4, failed: 1 });
    // The refused batch's message left history: each item is in it once, on its own.
    const alone = agent.calls.find((call) => call.request.items.length === 1 && call.request.items[0]!.prompt === 'o1')!;
    expect(alone.request.history.map((message) => message.content)).toEqual(['init', 'ack', 'o1']);
  });

  it('rests the batch while the provider refuses for auth or quota, then sends the same batch, no attempt spent', async () => {
    start({ pauseMs: 60_000 });
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    agent.pending()[0]!.reject(new AgentError('paused', '401 unauthorized'));
    await settle();
    expect(registry.get(abc)!.state).toBe('active.paused');
    await vi.advanceTimersByTimeAsync(60_000);
    const again = agent.pending()[0]!;
    expect(again.request.items.map((item) => item.prompt)).toEqual(['o1', 'o2']);
    expect(again.request.attempt).toBe(1);
  });

  it('retries a batch whose call timed out, the same batch, and aborts the call that timed out', async () => {
    start({ agentTimeoutMs: 5_000, backoffBaseMs: 100 });
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    const first = agent.pending()[0]!;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(first.outcome).toBe('aborted');
    expect(registry.get(abc)!.lastFailure).toMatchObject({ kind: 'timeout' });
    await vi.advanceTimersByTimeAsync(100);
    expect(agent.pending()[0]!.request.items.map((item) => item.prompt)).toEqual(['o1', 'o2']);
  });

  it('aborts the call of a batch when its session is deleted, and counts its items as dropped', async () => {
    start();
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    const call = agent.pending()[0]!;
    await observe('o3');
    await registry.delete(abc);
    await settle();
    expect(call.signal.aborted).toBe(true);
    expect(call.outcome).toBe('aborted');
    expect(disposals).toEqual([expect.objectContaining({ reason: 'deleted', droppedItems: 3 })]);
  });

  it('answers a late reply to an aborted call nowhere: it never enters history', async () => {
    const stubborn = controllableAgent();
    // An agent that ignores its signal: its promise settles after the session moved on.
    const ignoring = {
      name: 'ignoring',
      run: (request: Parameters<typeof stubborn.agent.run>[0]) => stubborn.agent.run(request, new AbortController().signal),
    };
    start({ agent: ignoring, agentTimeoutMs: 1_000, backoffBaseMs: 50_000 });
    await registry.init(abc, { prompt: 'init' });
    await settle();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(registry.get(abc)!.state).toBe('active.backoff');
    stubborn.pending()[0]!.resolve('too late');
    await settle();
    const view = registry.get(abc)!;
    expect(view.state).toBe('active.backoff');
    expect(view.historyLength).toBe(1);
    expect(view.counters.processed).toBe(0);
  });

  it('starts no call before every item of its batch is in the log: the agent finds them all committed', async () => {
    const path = join(tempDir(), 'session-events.db');
    const store = harness.sqlite(path);
    const reader = harness.sqlite(path, { readOnly: true });
    const committedAtCall: boolean[] = [];
    const other = { contentSessionId: 'other', project: 'demo' };
    start({
      store,
      maxConcurrentAgents: 1,
      agent: {
        name: 'checks the log',
        run: (request, signal) => {
          // Read through a second connection: it sees only what is committed.
          const logged = reader
            .readEvents(request.sessionDbId)
            .filter((event) => event.type === 'WORK_QUEUED')
            .map((event) => (event.payload as { item: { id: string } }).item.id);
          committedAtCall.push(...request.items.map((item) => item.kind === 'prompt' || logged.includes(item.id)));
          return agent.agent.run(request, signal);
        },
      },
    });
    vi.useRealTimers();
    const processed = (recheck: () => void) => registry.on('processed', recheck);
    await registry.init(other, { prompt: 'holds the only slot' });
    await waitFor(() => agent.pending().length === 1, { what: 'the other session holding the only slot', on: [processed] });
    // In one turn: an item for ours is logged and asks for the slot (granted after the commit of what
    // came before), the other session's reply frees the slot, and right after that commit, before the
    // grant, another item for ours arrives: it is in the batch, but not committed yet when the slot comes.
    const first = observe('a1', 'a1');
    let second: Promise<unknown> | undefined;
    void store.flush().then(() => {
      second = observe('a2', 'a2');
    });
    agent.pending()[0]!.resolve('done');
    await first;
    await waitFor(() => second !== undefined && agent.pending().length === 1, { what: 'our batch called', on: [processed] });
    await second;
    expect(agent.pending().map((call) => call.request.items.map((item) => item.id))).toEqual([['a1', 'a2']]);
    expect(committedAtCall).toEqual([true, true, true]);
    agent.pending()[0]!.resolve('ok');
    await waitFor(() => registry.get(abc)?.lifecycle === 'idle', { what: 'our session idle', on: [processed] });
  });
});

describe('digests of answered observations', () => {
  const digest = (n: number) => `[${n} tool uses, shown in full when they were answered; what you observed of them follows]`;

  it('replaces an answered batch of observations by a digest before its reply; prompts and summaries stay whole', async () => {
    start({ digestAnsweredObservations: true });
    await busyWithPrompt();
    expect(agent.pending()[0]!.request.batchStaysInHistory).toBe(true);
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    const call = agent.pending()[0]!;
    // Sent whole, this once: the provider need not cache it.
    expect(call.request.history.at(-1)!.content).toBe('o1\n\no2');
    expect(call.request.batchStaysInHistory).toBe(false);
    call.resolve('r12');
    await settle();
    await summarize('s1');
    await settle();
    const next = agent.pending()[0]!;
    expect(next.request.batchStaysInHistory).toBe(true);
    expect(next.request.history.map((m) => [m.role, m.content])).toEqual([
      ['user', 'init'],
      ['assistant', 'ack'],
      ['user', digest(2)],
      ['assistant', 'r12'],
      ['user', 's1'],
    ]);
    expect(next.request.history[0]!.pinned).toBe(true);
    next.resolve('summary');
    await settle();
    expect(registry.get(abc)).toMatchObject({ historyLength: 6, historyTokens: 1 + 1 + Math.ceil(digest(2).length / 4) + 1 + 1 + 2 });
  });

  it('keeps a batch whole through its retries, and digests it once answered; a restart replays the same history', async () => {
    const store = createMemoryStore();
    start({ digestAnsweredObservations: true, store, maxAttempts: 3, backoffBaseMs: 1_000 });
    await busyWithPrompt();
    await observe('o1');
    await observe('o2');
    agent.pending()[0]!.resolve('ack');
    await settle();
    agent.pending()[0]!.reject(new Error('ECONNRESET'));
    await vi.advanceTimersByTimeAsync(1_000);
    const retry = agent.pending()[0]!;
    expect(retry.request.history.at(-1)!.content).toBe('o1\n\no2');
    retry.resolve('r12');
    await settle();
    const before = registry.get(abc)!;
    expect(before.historyLength).toBe(4);
    ({ registry } = await harness.restart({ digestAnsweredObservations: true }));
    await observe('o3');
    await settle();
    expect(agent.pending()[0]!.request.history.map((m) => m.content)).toEqual(['init', 'ack', digest(2), 'r12', 'o3']);
    expect(registry.get(abc)!.historyTokens).toBe(before.historyTokens + 1);
  });
});
