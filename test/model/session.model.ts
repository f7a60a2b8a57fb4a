/**
 * What a user of the registry should observe of one session, as a statechart in which time passes
 * only through explicit events (TTL_ELAPSED, GRACE_ELAPSED, RETRY_ELAPSED, AGENT_TIMEOUT), so that
 * `createTestModel` can traverse it. The harness in session.model.test.ts makes each event happen to
 * a real registry under fake timers and checks that the session is where the model says, and that the
 * agent call in flight answers the batch the model expects.
 *
 * Batches: when the slot comes, the run of queued observations at the head (at most MODEL_MAX_BATCH)
 * goes in one call, a prompt alone; the batch stays as it is through retries; a fatal refusal of a
 * batch of several sends its items again one at a time. Before that, a batch of observations that can
 * still grow gathers (holding no slot) until GATHER_ELAPSED (its window is over or the burst quiet),
 * until it cannot grow (a prompt behind it; completing), or at once when its first item has waited past
 * the window already (queued before an agent timeout: `oldHead`).
 *
 * The registry runs with one agent slot and a second session ("other") that can hold it, which is
 * what makes `waiting` a state one can stand in rather than a microtask. "other" is created first, so
 * that after a RESTART it is restored first and asks for the slot before ours, as before.
 */
import { and, assign, not, setup } from 'xstate';

export const MODEL_MAX_ATTEMPTS = 2;
export const MODEL_MAX_QUEUE = 2;
/** Above the queue's bound, so that a batch can gather a second observation and still grow. */
export const MODEL_MAX_BATCH = 3;

export type ModelItem = 'prompt' | 'observation';

export interface ModelContext {
  /** Items queued for our session, oldest first, the batch being answered included. */
  readonly queue: readonly ModelItem[];
  /** How many head items form the batch the agent is given; 0 until it is formed. */
  readonly batch: number;
  /** Head items still to go one per call, after a batch of several was refused as fatal. */
  readonly singles: number;
  readonly attempt: number;
  readonly completing: boolean;
  readonly otherHoldsSlot: boolean;
  /** Activity arrived in `idle` after its timer was armed: the TTL now counts from that activity. */
  readonly activitySinceIdle: boolean;
  /**
   * The first item after the batch was queued before the agent timer ran out: it has waited past any
   * gather window. (With at most two queued items, every other item of the queue is in the batch, or
   * joins the next one with it.)
   */
  readonly oldHead: boolean;
}

export type ModelEvent =
  | { type: 'INIT' }
  /** The same prompt number again, as claude-mem's second init call sends it. */
  | { type: 'PROMPT_REPEATED' }
  | { type: 'WORK' }
  | { type: 'TOUCH' }
  | { type: 'COMPLETE' }
  | { type: 'DELETE' }
  | { type: 'EVICT_CAPACITY' }
  | { type: 'EVICT_MEMORY' }
  | { type: 'AGENT_REPLY' }
  | { type: 'AGENT_FAILS' }
  | { type: 'AGENT_TIMEOUT' }
  | { type: 'AGENT_FATAL' }
  | { type: 'AGENT_REFUSES' }
  | { type: 'RETRY_ELAPSED' }
  | { type: 'TTL_ELAPSED' }
  | { type: 'GRACE_ELAPSED' }
  /** The gathering batch's timer fires until it closes: its window is over, or the burst has gone quiet. */
  | { type: 'GATHER_ELAPSED' }
  | { type: 'OTHER_TAKES_SLOT' }
  | { type: 'OTHER_RELEASES_SLOT' }
  /** The worker process stops and a new one recovers every session from the log. Nothing changes. */
  | { type: 'RESTART' };

/** After the batch leaves the queue (answered or given up): the next batch (which may gather), idle, or done. */
const batchLeaves = [
  { guard: and(['lastBatch', 'completing']), target: '#model.disposed.completed', actions: 'dequeue' },
  { guard: 'lastBatch', target: '#model.idle', actions: 'dequeue' },
  { target: '#model.active.deciding', actions: 'dequeue' },
] as const;

/** A failed attempt: given up after the last one, else retried after a backoff. `first` runs before either. */
const retryOrGiveUp = (...first: 'markOldHead'[]) =>
  [
    { guard: and(['lastAttempt', 'lastBatch', 'completing']), target: '#model.disposed.completed', actions: [...first, 'dequeue'] },
    { guard: and(['lastAttempt', 'lastBatch']), target: '#model.idle', actions: [...first, 'dequeue'] },
    { guard: 'lastAttempt', target: '#model.active.deciding', actions: [...first, 'dequeue'] },
    { target: '#model.active.backoff', actions: [...first, 'countAttempt'] },
  ] as const;

/** The head's batch could take another observation (the machine's `batchCanGrow`). */
function canGrow(context: ModelContext): boolean {
  return (
    context.batch === 0 &&
    context.singles === 0 &&
    !context.completing &&
    context.queue.length < MODEL_MAX_BATCH &&
    context.queue.length > 0 &&
    context.queue.every((item) => item === 'observation')
  );
}

/** The batch the slot's grant forms: kept if one is formed; else the run of observations at the head. */
function batchFor(context: ModelContext): number {
  if (context.batch > 0) return context.batch;
  if (context.singles > 0 || context.queue[0] !== 'observation') return 1;
  let size = 1;
  while (size < MODEL_MAX_BATCH && context.queue[size] === 'observation') size++;
  return size;
}

const otherSlot = {
  OTHER_TAKES_SLOT: { guard: not('otherHoldsSlot'), actions: 'otherTakesSlot' },
  OTHER_RELEASES_SLOT: { guard: 'otherHoldsSlot', actions: 'otherReleasesSlot' },
} as const;

const evictions = {
  EVICT_CAPACITY: '#model.disposed.capacity',
  EVICT_MEMORY: '#model.disposed.memoryPressure',
} as const;

export const sessionModel = setup({
  types: { context: {} as ModelContext, events: {} as ModelEvent },
  guards: {
    roomInQueue: ({ context }) => context.queue.length < MODEL_MAX_QUEUE,
    lastBatch: ({ context }) => context.queue.length <= context.batch,
    batchOfSeveral: ({ context }) => context.batch > 1,
    lastAttempt: ({ context }) => context.attempt + 1 >= MODEL_MAX_ATTEMPTS,
    completing: ({ context }) => context.completing,
    otherHoldsSlot: ({ context }) => context.otherHoldsSlot,
    batchCanGrow: ({ context }) => canGrow(context),
    shouldGather: ({ context }) => canGrow(context) && !context.oldHead,
  },
  actions: {
    enqueueWork: assign({ queue: ({ context }) => [...context.queue, 'observation' as const] }),
    enqueuePrompt: assign({ queue: ({ context }) => [...context.queue, 'prompt' as const] }),
    formBatch: assign(({ context }) => ({ batch: batchFor(context), oldHead: false })),
    dequeue: assign(({ context }) => ({
      queue: context.queue.slice(context.batch),
      batch: 0,
      singles: Math.max(0, context.singles - context.batch),
      attempt: 0,
    })),
    markOldHead: assign({ oldHead: ({ context }) => context.queue.length > context.batch }),
    split: assign(({ context }) => ({ singles: context.batch, batch: 0, attempt: 0 })),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    markCompleting: assign({ completing: true }),
    // Activity moves the session's idle deadline; the model has no clock, so it only marks the event.
    recordActivity: () => {},
    recordRestart: () => {},
    noteActivityInIdle: assign({ activitySinceIdle: true }),
    armIdle: assign({ activitySinceIdle: false }),
    otherTakesSlot: assign({ otherHoldsSlot: true }),
    otherReleasesSlot: assign({ otherHoldsSlot: false }),
  },
}).createMachine({
  id: 'model',
  context: {
    queue: [],
    batch: 0,
    singles: 0,
    attempt: 0,
    completing: false,
    otherHoldsSlot: false,
    activitySinceIdle: false,
    oldHead: false,
  },
  initial: 'new',
  states: {
    new: { on: { INIT: { target: 'active', actions: 'enqueuePrompt' } } },
    active: {
      initial: 'deciding',
      on: {
        WORK: { guard: 'roomInQueue', actions: 'enqueueWork' },
        INIT: { guard: 'roomInQueue', actions: 'enqueuePrompt' },
        PROMPT_REPEATED: { actions: 'recordActivity' },
        TOUCH: { actions: 'recordActivity' },
        COMPLETE: { actions: 'markCompleting' },
        DELETE: '#model.disposed.deleted',
        RESTART: { actions: 'recordRestart' },
      },
      states: {
        deciding: { always: [{ guard: 'shouldGather', target: 'gathering' }, { target: 'waiting' }] },
        gathering: {
          always: { guard: not('batchCanGrow'), target: 'waiting' },
          on: { GATHER_ELAPSED: 'waiting', ...otherSlot },
        },
        waiting: {
          always: { guard: not('otherHoldsSlot'), target: 'processing', actions: 'formBatch' },
          on: { OTHER_RELEASES_SLOT: { actions: 'otherReleasesSlot' } },
        },
        processing: {
          on: {
            AGENT_REPLY: batchLeaves,
            AGENT_FATAL: [{ guard: 'batchOfSeveral', target: 'waiting', actions: 'split' }, ...batchLeaves],
            AGENT_FAILS: retryOrGiveUp(),
            AGENT_TIMEOUT: retryOrGiveUp('markOldHead'),
            AGENT_REFUSES: 'paused',
          },
        },
        backoff: { on: { RETRY_ELAPSED: 'waiting', ...otherSlot } },
        paused: { on: { RETRY_ELAPSED: 'waiting', ...otherSlot } },
      },
    },
    idle: {
      entry: 'armIdle',
      on: {
        WORK: { target: 'active', actions: 'enqueueWork' },
        INIT: { target: 'active', actions: 'enqueuePrompt' },
        PROMPT_REPEATED: { actions: 'noteActivityInIdle' },
        TOUCH: { actions: 'noteActivityInIdle' },
        COMPLETE: 'disposed.completed',
        DELETE: 'disposed.deleted',
        TTL_ELAPSED: 'expiring',
        RESTART: { actions: 'recordRestart' },
        ...evictions,
        ...otherSlot,
      },
    },
    expiring: {
      on: {
        WORK: { target: 'active', actions: 'enqueueWork' },
        INIT: { target: 'active', actions: 'enqueuePrompt' },
        PROMPT_REPEATED: 'idle',
        TOUCH: 'idle',
        COMPLETE: 'disposed.completed',
        DELETE: 'disposed.deleted',
        GRACE_ELAPSED: 'disposed.ttl',
        RESTART: { actions: 'recordRestart' },
        ...evictions,
        ...otherSlot,
      },
    },
    disposed: {
      // Entered only through its children: one final state per disposal reason.
      initial: 'ttl',
      states: {
        ttl: { type: 'final' },
        completed: { type: 'final' },
        deleted: { type: 'final' },
        capacity: { type: 'final' },
        memoryPressure: { type: 'final' },
      },
    },
  },
});
