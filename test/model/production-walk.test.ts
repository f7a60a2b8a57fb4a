/**
 * Walks the production statechart itself: every reachable (abstracted) state, every event from each,
 * delayed and invoke events included, run on real actors whose microsteps are recorded. Fails if any
 * state or transition of the machine is never exercised, so a dead branch cannot hide in it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getAdjacencyMap } from 'xstate/graph';
import {
  type AgentFailure,
  type AgentOutput,
  DEFAULT_SESSION_SETTINGS,
  gatherDeadlineOf,
  type SessionContext,
  type SessionSettings,
  sessionMachine,
} from '../../machines/session.machine.js';
import { CoverageRecorder } from './coverage.js';

// With at most two queued items, every way of forming a batch is reachable; a batch of up to three can
// still grow with two queued, so a gathering batch sees an arrival move its closing time. Events come
// 1 s apart: a quiet gap of 3 s closes a batch within a few of them, and recovered sessions may stop
// gathering (a window of 0).
const settings: SessionSettings = {
  ...DEFAULT_SESSION_SETTINGS,
  maxAttempts: 2,
  idleTtlMs: 60_000,
  maxBatchItems: 3,
  batchWindowMs: 10_000,
  batchQuietMs: 3_000,
  digestAnsweredObservations: true,
};

// Inert effects: the walk drives the agent and the timers itself, by sending their events.
const machine = sessionMachine;
const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

type WalkEvent = { type: string; [key: string]: unknown };
type Snapshot = { value: unknown; context: SessionContext; status: string };

/** The events worth trying in a state; time moves forward with each outside event. */
function eventsFor(snapshot: Snapshot): WalkEvent[] {
  const { context } = snapshot;
  const at = context.lastActivityAt + 1_000;
  const failure = (kind: AgentFailure['kind']) => ({
    type: 'xstate.error.actor.agent',
    error: { kind, message: kind, at } satisfies AgentFailure,
  });
  const events: WalkEvent[] = [
    { type: 'INIT', prompt: 'again', promptTokens: 2, promptNumber: context.promptNumber, at },
    { type: 'TOUCH', at },
    { type: 'COMPLETE', at },
    { type: 'DELETE', at },
    { type: 'EVICT', reason: 'capacity', at },
    { type: 'EVICT', reason: 'memory-pressure', at },
    { type: 'SLOT_GRANTED', at },
    { type: 'RECOVER', at },
    { type: 'RECOVER', at, settings: { ...settings, maxHistoryMessages: 10 } },
    { type: 'RECOVER', at, settings: { ...settings, batchWindowMs: 0 } },
  ];
  // An agent's answer or timeout happens only while it runs; a timer fires only in the state that armed it.
  const state = JSON.stringify(snapshot.value);
  if (state === '{"active":"processing"}') {
    events.push(
      { type: 'xstate.done.actor.agent', output: { reply: 'reply', replyTokens: 2, at } satisfies AgentOutput },
      failure('retryable'),
      failure('paused'),
      failure('fatal'),
      { type: 'xstate.after.agentTimeout.session.active.processing' },
    );
  }
  if (state === '{"active":"backoff"}') events.push({ type: 'xstate.after.retryAt.session.active.backoff' });
  if (state === '{"active":"paused"}') events.push({ type: 'xstate.after.retryAt.session.active.paused' });
  if (state === '"idle"') events.push({ type: 'xstate.after.idleDeadline.session.idle' });
  if (state === '{"active":"gathering"}') events.push({ type: 'xstate.after.gatherDeadline.session.active.gathering' });
  if (state === '"expiring"') events.push({ type: 'xstate.after.graceDeadline.session.expiring' });
  // Work adds to the queue: bounded, so that the abstract state space is finite.
  if (context.queue.length < 2) {
    events.push({ type: 'INIT', prompt: 'prompt', promptTokens: 2, promptNumber: context.promptNumber + 1, at });
    const n = context.counters.queued + 1;
    events.push({
      type: 'WORK_QUEUED',
      item: { id: `w${n}`, kind: 'observation', prompt: 'o', promptTokens: 1, toolUseId: `t${n}`, queuedAt: at },
      at,
    });
  }
  const recent = context.queue.at(-1)?.toolUseId;
  if (recent !== undefined) {
    events.push({
      type: 'WORK_QUEUED',
      item: { id: 'dup', kind: 'observation', prompt: 'o', promptTokens: 1, toolUseId: recent, queuedAt: at },
      at,
    });
  }
  return events;
}

/** What distinguishes states for the machine's guards; the rest of the context is noise. */
function abstraction(snapshot: Snapshot): string {
  const { context } = snapshot;
  return JSON.stringify({
    value: snapshot.value,
    status: snapshot.status,
    queue: context.queue.map((item) => item.kind),
    batchSize: context.batchSize,
    singlesLeft: context.singlesLeft,
    attempt: context.attempt,
    completing: context.completing,
    activitySinceArming: context.idleDeadline !== null && context.lastActivityAt + context.settings.idleTtlMs > context.idleDeadline,
    gathers: context.settings.batchWindowMs > 0,
    gatherDeadlineMoved: context.gatherDeadline !== null && gatherDeadlineOf(context) > context.gatherDeadline,
  });
}

const recorder = new CoverageRecorder(machine);

afterAll(() => {
  console.log(recorder.summary('production machine walk'));
});

describe('the production statechart', () => {
  it('has every state and every transition exercised by the walk', () => {
    const input = { sessionDbId: 1, contentSessionId: 'walk', project: 'p', settings, at: 0 };
    const adjacency = getAdjacencyMap(machine, {
      input,
      events: (snapshot) => eventsFor(snapshot as unknown as Snapshot) as never,
      serializeState: (snapshot) => abstraction(snapshot as unknown as Snapshot) as never,
      limit: 100_000,
    });

    console.log(`walk: ${Object.keys(adjacency).length} abstract states`);
    let edges = 0;
    for (const vertex of Object.values(adjacency)) {
      const from = vertex.state as unknown as Snapshot;
      if (from.status !== 'active') continue;
      for (const event of eventsFor(from)) {
        const actor = createActor(machine, {
          input,
          snapshot: machine.resolveState({ value: from.value as never, context: from.context }),
          clock: noTimers,
          inspect: recorder.inspect,
        });
        actor.start();
        actor.send(event as never);
        actor.stop();
        edges++;
      }
    }
    // The initial transition, from a fresh actor.
    createActor(machine, { input, clock: noTimers, inspect: recorder.inspect }).start().stop();

    const missing = recorder.missing();
    expect(Object.keys(adjacency).length).toBeGreaterThan(20);
    expect(edges).toBeGreaterThan(100);
    expect(missing.states).toEqual([]);
    expect(missing.transitions).toEqual([]);
  });
});
