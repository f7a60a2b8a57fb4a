/**
 * The lifecycle of one agent session: active → idle → expiring → disposed (SPEC §3).
 *
 * Pure by construction: no I/O, no clock, no registry. Time comes in on events (`at`) or is derived
 * from deadlines already in context, so replaying the log reproduces every state and every context.
 * What touches the world (agent slots, the registry, listeners, the agent call, and the clock-aware
 * delays) is declared here with inert defaults and supplied by `src/registry` through `.provide()`.
 *
 * The agent works on a batch: the run of queued observations at the head of the queue (or a prompt or
 * a summarize alone), formed when a slot is granted and kept, unchanged, until it is answered or given up.
 * A batch of observations may first gather (`active.gathering`, when the session's settings ask for it):
 * it asks for a slot only once its window has passed, it is full, or the burst has gone quiet.
 */
import { and, assign, setup } from 'xstate';
import type { ConversationMessage } from '../src/history/index.js';
import {
  AGENT_DONE,
  AGENT_ERROR,
  agentInputOf,
  appendCounted,
  appendMessage,
  backoffDelayMs,
  batchCanGrow,
  batchItemOf,
  eventTime,
  failureOf,
  gatherDeadlineOf,
  historyAfterAnswer,
  initialContext,
  nextBatchSize,
  outputOf,
  trimmedToBound,
  usageAfter,
} from './session.context.js';
import type { AgentInput, DisposalReason, SessionContext, SessionEvent, SessionInput, SessionTag, WorkItem } from './session.types.js';

export {
  agentInputOf,
  asAgentFailure,
  backoffDelayMs,
  batchCanGrow,
  gatherDeadlineOf,
  nextBatchSize,
  upgradedContext,
  usageAfter,
  ZERO_COUNTERS,
  ZERO_PROVIDER_USAGE,
} from './session.context.js';
export * from './session.types.js';

/**
 * Where a failed attempt leads (a rejection or the agent timer): the batch is given up when spent
 * (then the next batch, which may gather, idle, or disposal when completing), or retried, the same
 * batch, after a backoff.
 */
const afterFailedAttempt = [
  {
    guard: and(['batchIsSpent', 'isLastBatch', 'isCompleting']),
    target: '#session.disposed',
    actions: ['dropFailedBatch', { type: 'recordDisposal', params: { reason: 'completed' } }],
  },
  { guard: and(['batchIsSpent', 'isLastBatch']), target: '#session.idle', actions: 'dropFailedBatch' },
  { guard: 'batchIsSpent', target: 'deciding', actions: 'dropFailedBatch' },
  { target: 'backoff', actions: 'scheduleRetry' },
] as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    tags: {} as SessionTag,
  },
  delays: {
    // Durations from entry. The registry supplies versions that count down to the deadline in
    // context, which is what the lazy idle re-arm and recovery after a restart need.
    idleDeadline: ({ context }) => context.settings.idleTtlMs,
    graceDeadline: ({ context }) => context.settings.graceMs,
    retryAt: ({ context }) => (context.retryAt ?? 0) - (context.lastFailure?.at ?? context.retryAt ?? 0),
    agentTimeout: ({ context }) => context.settings.agentTimeoutMs,
    // From the last observation queued; the registry counts down to the deadline itself.
    gatherDeadline: ({ context }) => Math.max(0, (context.gatherDeadline ?? 0) - (context.queue.at(-1)?.queuedAt ?? 0)),
  },
  guards: {
    /**
     * A tool_use_id already queued is a retry, not new work. (Over the session's whole life, across
     * restarts, the registry de-duplicates against the log before an event is even sent.)
     */
    isNewWork: ({ context, event }) => {
      if (event.type !== 'WORK_QUEUED') return false;
      const { toolUseId } = event.item;
      if (toolUseId === undefined) return true; // the registry's own ids are unique
      return !context.queue.some((queued) => queued.toolUseId === toolUseId);
    },
    isNewPrompt: ({ context, event }) => event.type === 'INIT' && event.promptNumber > context.promptNumber,
    hasQueuedWork: ({ context }) => context.queue.length > 0,
    /** The batch being answered is all that is queued: once it leaves, nothing is. */
    isLastBatch: ({ context }) => context.queue.length <= Math.max(1, context.batchSize),
    isCompleting: ({ context }) => context.completing,
    /** The head's batch can take more work, and its window is still open at this event's time. */
    shouldGather: ({ context, event }) => batchCanGrow(context) && eventTime(context, event) < gatherDeadlineOf(context),
    /** The gathering batch can take nothing more: full, a prompt or summarize behind it, or the session completing. */
    batchIsClosed: ({ context }) => !batchCanGrow(context),
    /** Lazy deadline: observations queued since the gather timer was armed moved the batch's closing time. */
    gatherDeadlineMoved: ({ context }) => context.gatherDeadline !== null && gatherDeadlineOf(context) > context.gatherDeadline,
    /** Lazy deadline: only activity since the timer was armed can push the deadline out. */
    idleDeadlineReached: ({ context }) =>
      context.idleDeadline !== null && context.lastActivityAt + context.settings.idleTtlMs <= context.idleDeadline,
    failureIsPause: ({ context, event }) => failureOf(context, event).kind === 'paused',
    /** The provider refused a batch of several for its content: its items are tried alone, so one bad item does not sink the rest. */
    batchIsSplittable: ({ context, event }) => context.batchSize > 1 && failureOf(context, event).kind === 'fatal',
    /** No further attempt for this batch: the provider said it is hopeless, or attempts ran out. */
    batchIsSpent: ({ context, event }) => failureOf(context, event).kind === 'fatal' || context.attempt + 1 >= context.settings.maxAttempts,
  },
  actions: {
    // Effects on the world, supplied by src/registry.
    requestSlot: () => {},
    cancelSlotRequest: () => {},
    releaseSlot: () => {},
    notifyExpiring: () => {},
    removeFromRegistry: () => {},
    /** Starts the agent call for the batch; its outcome comes back as the agent's done or error event. */
    callAgent: (_, _input: AgentInput) => {},
    /** Aborts the call in flight, if any: the session left `processing` (answered, failed, deleted, evicted, timed out). */
    abortAgentCall: () => {},

    recordActivity: assign(({ context, event }) => ({
      lastActivityAt: Math.max(context.lastActivityAt, eventTime(context, event)),
    })),
    enqueueWork: assign(({ context, event }) => {
      if (event.type !== 'WORK_QUEUED') return {};
      const item: WorkItem = { ...event.item, promptNumber: context.promptNumber };
      return {
        queue: [...context.queue, item],
        lastActivityAt: Math.max(context.lastActivityAt, event.at),
        // Queued work ends any idle or grace period (in `active` they are already null).
        idleDeadline: null,
        graceDeadline: null,
        counters: { ...context.counters, queued: context.counters.queued + 1 },
      };
    }),
    enqueuePrompt: assign(({ context, event }) => {
      if (event.type !== 'INIT') return {};
      const item: WorkItem = {
        id: `prompt-${event.promptNumber}`,
        kind: 'prompt',
        prompt: event.prompt,
        promptTokens: event.promptTokens,
        queuedAt: event.at,
        promptNumber: event.promptNumber,
      };
      return {
        queue: [...context.queue, item],
        promptNumber: event.promptNumber,
        lastActivityAt: Math.max(context.lastActivityAt, event.at),
        idleDeadline: null,
        graceDeadline: null,
        counters: { ...context.counters, queued: context.counters.queued + 1 },
      };
    }),
    markCompleting: assign({ completing: true }),
    countRevival: assign(({ context }) => ({ counters: { ...context.counters, revivals: context.counters.revivals + 1 } })),
    /** A restored session adopts the settings of the process that restored it. */
    applySettings: assign(({ context, event }) => {
      if (event.type !== 'RECOVER' || event.settings === undefined) return {};
      return { settings: event.settings, ...trimmedToBound(context, event.settings) };
    }),

    /** Forms the batch on its first attempt; its user message enters history then, once: a retry finds it there. */
    startBatch: assign(({ context, event }) => {
      const processingSince = eventTime(context, event);
      if (context.batchSize > 0) return { processingSince };
      const batchSize = nextBatchSize(context);
      const { prompt, promptTokens } = batchItemOf(context, batchSize);
      const message: ConversationMessage =
        context.counters.messagesAppended === 0
          ? { role: 'user', content: prompt, tokens: promptTokens, pinned: true }
          : { role: 'user', content: prompt, tokens: promptTokens };
      const appended = appendMessage(context, message);
      return { history: appended.history, counters: appended.counters, batchSize, processingSince };
    }),
    /**
     * The one place a reply enters history: once per batch, however many items it answers (after the
     * batch's own message, digested if the session digests answered observations).
     */
    finishBatch: assign(({ context, event }) => {
      const output = outputOf(event);
      const size = Math.max(1, context.batchSize);
      const { counters } = context;
      const appended = appendCounted(
        context,
        { role: 'assistant', content: output.reply, tokens: output.replyTokens },
        {
          ...counters,
          messagesAppended: counters.messagesAppended + 1,
          processed: counters.processed + size,
          inputTokens: counters.inputTokens + (output.usage?.inputTokens ?? 0),
          outputTokens: counters.outputTokens + (output.usage?.outputTokens ?? 0),
          cacheReadTokens: counters.cacheReadTokens + (output.usage?.cacheReadTokens ?? 0),
          cacheWriteTokens: counters.cacheWriteTokens + (output.usage?.cacheWriteTokens ?? 0),
        },
        historyAfterAnswer(context),
      );
      return {
        history: appended.history,
        counters: appended.counters,
        usageByProvider: usageAfter(context.usageByProvider, output),
        queue: context.queue.slice(size),
        batchSize: 0,
        singlesLeft: Math.max(0, context.singlesLeft - size),
        attempt: 0,
        processingSince: null,
        lastFailure: null,
        lastActivityAt: Math.max(context.lastActivityAt, output.at),
      };
    }),
    /** Exponential backoff, or the provider's Retry-After when it asks for longer. The batch stays as it is. */
    scheduleRetry: assign(({ context, event }) => {
      const failure = failureOf(context, event);
      const attempt = context.attempt + 1;
      return {
        attempt,
        lastFailure: failure,
        retryAt: failure.at + Math.max(backoffDelayMs(attempt, context.settings), failure.retryAfterMs ?? 0),
        processingSince: null,
        counters: { ...context.counters, retries: context.counters.retries + 1 },
      };
    }),
    /** Auth or quota: the queue rests as it is, no attempt is spent, and no restart loop burns tokens. */
    pauseProcessing: assign(({ context, event }) => {
      const failure = failureOf(context, event);
      return {
        lastFailure: failure,
        retryAt: failure.at + (failure.retryAfterMs ?? context.settings.pauseMs),
        processingSince: null,
        counters: { ...context.counters, pauses: context.counters.pauses + 1 },
      };
    }),
    /**
     * A batch of several refused for its content: its items go again, one at a time, each with its own
     * attempts. The refused message leaves history (no reply follows it; each item enters on its own).
     */
    splitBatch: assign(({ context, event }) => ({
      history: context.history.slice(0, -1),
      singlesLeft: context.batchSize,
      batchSize: 0,
      attempt: 0,
      processingSince: null,
      lastFailure: failureOf(context, event),
    })),
    /** The batch failed for good: its items leave the queue, counted and logged, never retried. */
    dropFailedBatch: assign(({ context, event }) => {
      const failure = failureOf(context, event);
      const size = Math.max(1, context.batchSize);
      return {
        queue: context.queue.slice(size),
        batchSize: 0,
        singlesLeft: Math.max(0, context.singlesLeft - size),
        attempt: 0,
        processingSince: null,
        lastFailure: failure,
        lastActivityAt: Math.max(context.lastActivityAt, failure.at),
        counters: { ...context.counters, failed: context.counters.failed + size },
      };
    }),

    // No trim here: the history is within its bound after every append and every change of settings.
    armIdleDeadline: assign(({ context }) => ({
      idleDeadline: context.lastActivityAt + context.settings.idleTtlMs,
      graceDeadline: null,
      retryAt: null,
    })),
    armGatherDeadline: assign(({ context }) => ({ gatherDeadline: gatherDeadlineOf(context) })),
    clearGatherDeadline: assign({ gatherDeadline: null }),
    armGraceDeadline: assign(({ context }) => ({
      graceDeadline: (context.idleDeadline ?? context.lastActivityAt) + context.settings.graceMs,
    })),
    recordDisposal: assign(({ context, event }, { reason }: { reason: DisposalReason }) => ({
      disposal: { reason, at: eventTime(context, event), droppedItems: context.queue.length },
    })),
    /** Nothing of the conversation outlives the session. */
    releaseEverything: assign({
      queue: [],
      batchSize: 0,
      singlesLeft: 0,
      history: [],
      idleDeadline: null,
      graceDeadline: null,
      retryAt: null,
      gatherDeadline: null,
      processingSince: null,
      completing: false,
    }),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  on: {
    WORK_QUEUED: { guard: 'isNewWork', actions: 'enqueueWork' },
    INIT: [{ guard: 'isNewPrompt', actions: 'enqueuePrompt' }, { actions: 'recordActivity' }],
    TOUCH: { actions: 'recordActivity' },
    COMPLETE: [
      { guard: 'hasQueuedWork', actions: ['recordActivity', 'markCompleting'] },
      { target: '.disposed', actions: { type: 'recordDisposal', params: { reason: 'completed' } } },
    ],
    DELETE: { target: '.disposed', actions: { type: 'recordDisposal', params: { reason: 'deleted' } } },
    EVICT: {
      target: '.disposed',
      actions: { type: 'recordDisposal', params: ({ event }) => ({ reason: event.reason }) },
    },
  },
  states: {
    active: {
      initial: 'deciding',
      states: {
        /** Transient: new work, or the next batch after an answer, either gathers or asks for a slot at once. */
        deciding: {
          always: [{ guard: 'shouldGather', target: 'gathering' }, { target: 'waiting' }],
        },
        /**
         * The batch at the head gathers the observations that follow, holding no slot. It closes (→ waiting)
         * when it cannot grow any more (full; a prompt or summarize behind it; completing) or when its timer
         * finds the window over or the burst quiet. Arrivals move only the closing time, not the timer.
         */
        gathering: {
          tags: 'batch-gathering',
          entry: 'armGatherDeadline',
          exit: 'clearGatherDeadline',
          always: { guard: 'batchIsClosed', target: 'waiting' },
          after: {
            gatherDeadline: [{ guard: 'gatherDeadlineMoved', target: 'gathering', reenter: true }, { target: 'waiting' }],
          },
          on: { RECOVER: { target: 'gathering', reenter: true, actions: 'applySettings' } },
        },
        waiting: {
          tags: 'slot-request',
          entry: 'requestSlot',
          exit: 'cancelSlotRequest',
          on: {
            SLOT_GRANTED: 'processing',
            RECOVER: { target: 'waiting', reenter: true, actions: 'applySettings' },
          },
        },
        processing: {
          tags: 'agent-call',
          entry: ['startBatch', { type: 'callAgent', params: ({ context }) => agentInputOf(context) }],
          exit: ['abortAgentCall', 'releaseSlot'],
          on: {
            [AGENT_DONE]: [
              {
                guard: and(['isLastBatch', 'isCompleting']),
                target: '#session.disposed',
                actions: ['finishBatch', { type: 'recordDisposal', params: { reason: 'completed' } }],
              },
              { guard: 'isLastBatch', target: '#session.idle', actions: 'finishBatch' },
              { target: 'deciding', actions: 'finishBatch' },
            ],
            [AGENT_ERROR]: [
              { guard: 'failureIsPause', target: 'paused', actions: 'pauseProcessing' },
              { guard: 'batchIsSplittable', target: 'waiting', actions: 'splitBatch' },
              ...afterFailedAttempt,
            ],
            // The call in flight died with the process that made it: ask for a slot again; the same batch goes.
            RECOVER: { target: 'waiting', actions: 'applySettings' },
          },
          after: {
            // A timeout is a retryable failure; it routes exactly like a rejection (failureOf).
            agentTimeout: afterFailedAttempt,
          },
        },
        backoff: {
          tags: 'retry-wait',
          after: { retryAt: 'waiting' },
          on: { RECOVER: { target: 'backoff', reenter: true, actions: 'applySettings' } },
        },
        paused: {
          tags: 'retry-wait',
          after: { retryAt: 'waiting' },
          on: { RECOVER: { target: 'paused', reenter: true, actions: 'applySettings' } },
        },
      },
    },
    idle: {
      tags: ['resting', 'hibernatable'],
      entry: 'armIdleDeadline',
      after: {
        idleDeadline: [
          { guard: 'idleDeadlineReached', target: 'expiring' },
          // Activity since arming: wait only for what remains of the new deadline.
          { target: 'idle', reenter: true },
        ],
      },
      on: {
        WORK_QUEUED: { guard: 'isNewWork', target: 'active', actions: 'enqueueWork' },
        INIT: { guard: 'isNewPrompt', target: 'active', actions: 'enqueuePrompt' },
        RECOVER: { target: 'idle', reenter: true, actions: 'applySettings' },
      },
    },
    expiring: {
      tags: 'resting',
      entry: ['armGraceDeadline', 'notifyExpiring'],
      after: {
        graceDeadline: { target: 'disposed', actions: { type: 'recordDisposal', params: { reason: 'ttl' } } },
      },
      on: {
        WORK_QUEUED: { guard: 'isNewWork', target: 'active', actions: ['enqueueWork', 'countRevival'] },
        INIT: [
          { guard: 'isNewPrompt', target: 'active', actions: ['enqueuePrompt', 'countRevival'] },
          { target: 'idle', actions: ['recordActivity', 'countRevival'] },
        ],
        TOUCH: { target: 'idle', actions: ['recordActivity', 'countRevival'] },
        RECOVER: { target: 'expiring', reenter: true, actions: 'applySettings' },
      },
    },
    disposed: {
      type: 'final',
      entry: ['releaseEverything', 'removeFromRegistry'],
    },
  },
});

export type SessionMachine = typeof sessionMachine;
