/**
 * Gathering: with a batch window, observations that arrive for a session with nothing in flight wait
 * (holding no agent slot) for the rest of their burst, so that one call answers the burst. The batch
 * asks for a slot when its window is over, when the burst has gone quiet, when it is full, when a prompt
 * or a summarize is queued behind it, or when the session is completing; a restart re-arms its timer for
 * what remains. One timer per window: arrivals move the closing time lazily, they do not re-arm it.
 */
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventStore, SessionRegistry, SessionRegistryOptions } from '../../src/index.js';
import { controllableAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';
import { useTempDir } from '../support/tmp.js';

const abc = { contentSessionId: 'abc', project: 'demo' };
const WINDOW = 30_000;
const QUIET = 10_000;
const tempDir = useTempDir();

let registry: SessionRegistry;
let agent: ReturnType<typeof controllableAgent>;
const harness = useRegistry(() => ({ agent: agent.agent, maxBatchItems: 5, batchWindowMs: WINDOW, batchQuietMs: QUIET }));

beforeEach(() => {
  agent = controllableAgent();
});

function start(options: Partial<SessionRegistryOptions> = {}) {
  registry = harness.start(options);
  return registry;
}

function sqlite(name = 'events.db'): EventStore {
  return harness.sqlite(join(tempDir(), name));
}

const observe = (prompt: string) => registry.enqueue(abc, { kind: 'observation', prompt });
const settle = () => vi.advanceTimersByTimeAsync(0);
const wait = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const batches = () => agent.calls.map((call) => call.request.items.map((item) => item.prompt));
const state = () => registry.get(abc)?.state;

/** A session whose init prompt has been answered: it is idle, and what is queued next may gather. */
async function initialised() {
  await registry.init(abc, { prompt: 'init' });
  await settle();
  agent.pending()[0]!.resolve('ack');
  await settle();
  expect(state()).toBe('idle');
}

async function answerAll() {
  for (let i = 0; i < 100 && agent.pending().length > 0; i++) {
    agent.pending()[0]!.resolve('re');
    await settle();
  }
}

describe('gathering a batch', () => {
  it('holds a burst until it goes quiet, then answers it in one call', async () => {
    start();
    await initialised();
    await observe('o1');
    await settle();
    expect(state()).toBe('active.gathering');
    expect(registry.stats().slots.waiting + registry.stats().slots.inUse).toBe(0);
    for (const prompt of ['o2', 'o3', 'o4']) {
      await wait(2_000);
      await observe(prompt);
    }
    // The first item's quiet deadline has passed, but the burst went on: the batch waits for its last item's.
    await wait(QUIET - 1);
    expect(agent.pending()).toHaveLength(0);
    expect(state()).toBe('active.gathering');
    await wait(1);
    expect(batches().slice(1)).toEqual([['o1', 'o2', 'o3', 'o4']]);
    expect(state()).toBe('active.processing');
  });

  it('never holds an observation longer than the window, however long the burst', async () => {
    start({ maxBatchItems: 20 });
    await initialised();
    const first = Date.now();
    await observe('o1');
    for (let i = 2; Date.now() - first < WINDOW; i++) {
      await wait(5_000);
      if (agent.pending().length > 0) break;
      await observe(`o${i}`);
    }
    expect(agent.pending()).toHaveLength(1);
    expect(Date.now() - first).toBe(WINDOW);
    expect(batches()[1]).toHaveLength(6);
  });

  it('asks for a slot at once when the batch is full, or a summarize or a prompt is queued behind it', async () => {
    start();
    await initialised();
    for (const prompt of ['o1', 'o2', 'o3', 'o4', 'o5']) await observe(prompt);
    await settle();
    expect(batches().slice(1)).toEqual([['o1', 'o2', 'o3', 'o4', 'o5']]);
    await answerAll();

    await observe('o6');
    await settle();
    expect(state()).toBe('active.gathering');
    await registry.enqueue(abc, { kind: 'summarize', prompt: 's1' });
    await settle();
    expect(batches().slice(2)).toEqual([['o6']]);
    await answerAll();
    expect(batches().slice(3)).toEqual([['s1']]);

    await observe('o7');
    await settle();
    await registry.init(abc, { prompt: 'next prompt', promptNumber: 2 });
    await settle();
    expect(batches().slice(4)).toEqual([['o7']]);
  });

  it('stops gathering when the session is completing', async () => {
    start();
    await initialised();
    await observe('o1');
    await settle();
    expect(state()).toBe('active.gathering');
    await registry.complete(abc);
    await settle();
    expect(batches().slice(1)).toEqual([['o1']]);
    await answerAll();
    expect(registry.get(abc)).toBeUndefined();
  });

  it('gathers the next batch after an answer only while its first item is within the window', async () => {
    start();
    await initialised();
    await registry.enqueue(abc, { kind: 'summarize', prompt: 's1' });
    await settle();
    await observe('o1');
    await answerAll(); // s1 answered at once: o1, just queued, gathers
    expect(state()).toBe('active.gathering');
    await wait(QUIET);
    expect(batches().slice(1)).toEqual([['s1'], ['o1']]);

    await observe('o2');
    await wait(WINDOW + 1);
    agent.pending()[0]!.resolve('re'); // o1 answered late: o2 has waited a whole window, it goes at once
    await settle();
    expect(batches().slice(3)).toEqual([['o2']]);
  });

  it('arms one timer per window: arrivals move the closing time, logged as they are, and replay to the same state', async () => {
    const store = sqlite();
    start({ store });
    await initialised();
    for (const prompt of ['o1', 'o2', 'o3', 'o4']) {
      await observe(prompt);
      await wait(3_000);
    }
    await wait(QUIET);
    expect(batches().slice(1)).toEqual([['o1', 'o2', 'o3', 'o4']]);
    await store.flush();
    const sessionDbId = registry.get(abc)!.sessionDbId;
    const timers = store.readEvents(sessionDbId).filter((event) => event.type.startsWith('xstate.after.gatherDeadline'));
    // Armed for o1 + 10 s; fired at 10 s (moved by o4 to 19 s), then at 19 s: two, not one per arrival.
    expect(timers.map((timer) => timer.at - timers[0]!.at)).toEqual([0, 9_000]);
  });

  it('re-arms a gathering batch after a restart for what remains, and sends it at once if its time passed meanwhile', async () => {
    const store = sqlite();
    start({ store });
    await initialised();
    await observe('o1');
    await wait(4_000);
    await observe('o2');
    await registry.shutdown();

    start({ store });
    await registry.recover();
    await settle();
    expect(state()).toBe('active.gathering');
    await wait(QUIET - 1);
    expect(agent.pending()).toHaveLength(0);
    await wait(1);
    expect(agent.pending().map((call) => call.request.items.map((item) => item.prompt))).toEqual([['o1', 'o2']]);
    await answerAll();

    await observe('o3');
    await registry.shutdown();
    await wait(WINDOW * 2);
    start({ store });
    await registry.recover();
    await settle();
    expect(agent.pending().map((call) => call.request.items.map((item) => item.prompt))).toEqual([['o3']]);
  });

  it('refuses a window or a quiet gap that is negative or beyond setTimeout, and digests that are not a boolean', () => {
    expect(() => start({ batchWindowMs: -1 })).toThrow(/batchWindowMs/);
    expect(() => start({ batchQuietMs: 2 ** 31 })).toThrow(/batchQuietMs: must be at most 2147483647 ms/);
    expect(() => start({ digestAnsweredObservations: 'yes' as unknown as boolean })).toThrow(/digestAnsweredObservations/);
  });

  it('does not gather with a window of 0 (the library default)', async () => {
    start({ batchWindowMs: undefined });
    await initialised();
    await observe('o1');
    await settle();
    expect(batches().slice(1)).toEqual([['o1']]);
  });
});
