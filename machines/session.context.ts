/**
 * Pure functions of a session's context and the event being processed, shared by the machine's guards
 * and actions: the history append that keeps the bound, what time an event happened at, what an agent
 * outcome says. No clock, no I/O: everything comes from the context and the event.
 */
import type { AnyEventObject } from 'xstate';
import { type ConversationMessage, trimHistory } from '../src/history/index.js';
import type {
  AgentFailure,
  AgentInput,
  AgentOutput,
  ProviderUsage,
  SessionContext,
  SessionCounters,
  SessionInput,
  SessionSettings,
  WorkItem,
} from './session.types.js';

/** Exponential backoff for the `attempt`-th failure (1-based), capped. */
export function backoffDelayMs(attempt: number, settings: SessionSettings): number {
  return Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** Normalises whatever the agent actor rejected with; a well-behaved agent already rejects an AgentFailure. */
export function asAgentFailure(error: unknown, fallbackAt: number): AgentFailure {
  if (typeof error === 'object' && error !== null && 'kind' in error && 'at' in error) {
    const failure = error as AgentFailure;
    if (['retryable', 'timeout', 'paused', 'fatal'].includes(failure.kind) && typeof failure.at === 'number') {
      return failure;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'retryable', message, at: fallbackAt };
}

/** A session's counters before anything happened. */
export const ZERO_COUNTERS: SessionCounters = {
  queued: 0,
  processed: 0,
  failed: 0,
  retries: 0,
  pauses: 0,
  revivals: 0,
  messagesAppended: 0,
  trimmedMessages: 0,
  trimmedTokens: 0,
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
};

/** A provider's usage before its first answer. */
export const ZERO_PROVIDER_USAGE: ProviderUsage = { batches: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

/** `usageByProvider` with one more answer of `output`'s provider counted (unchanged when the output names none). */
export function usageAfter(
  usageByProvider: Readonly<Record<string, ProviderUsage>>,
  output: AgentOutput,
): Readonly<Record<string, ProviderUsage>> {
  if (output.provider === undefined) return usageByProvider;
  const before = usageByProvider[output.provider] ?? ZERO_PROVIDER_USAGE;
  const usage = output.usage;
  return {
    ...usageByProvider,
    [output.provider]: {
      batches: before.batches + 1,
      inputTokens: before.inputTokens + (usage?.inputTokens ?? 0),
      outputTokens: before.outputTokens + (usage?.outputTokens ?? 0),
      cacheReadTokens: before.cacheReadTokens + (usage?.cacheReadTokens ?? 0),
      cacheWriteTokens: before.cacheWriteTokens + (usage?.cacheWriteTokens ?? 0),
    },
  };
}

/**
 * A new session's context. Built as a copy of a literal on purpose: xstate updates context with
 * `Object.assign({}, context, update)`, and V8 puts an object that gets this many properties copied onto
 * `{}` into dictionary mode (slow to read, slow to copy again: every transition about 40 % slower),
 * unless a copy made by spread has laid out the same properties, in the same order, before. This one does.
 */
export function initialContext(input: SessionInput): SessionContext {
  const context: SessionContext = {
    sessionDbId: input.sessionDbId,
    contentSessionId: input.contentSessionId,
    project: input.project,
    settings: input.settings,
    createdAt: input.at,
    lastActivityAt: input.at,
    idleDeadline: null,
    graceDeadline: null,
    retryAt: null,
    gatherDeadline: null,
    processingSince: null,
    promptNumber: input.promptNumber ?? 0,
    queue: [],
    attempt: 0,
    batchSize: 0,
    singlesLeft: 0,
    history: [],
    completing: false,
    lastFailure: null,
    counters: ZERO_COUNTERS,
    usageByProvider: {},
    disposal: null,
  };
  return { ...context };
}

/** Appends one message and trims at once (in steps: see trimHistory), so the bound holds after every single append. */
export function appendMessage(context: SessionContext, message: ConversationMessage): Pick<SessionContext, 'history' | 'counters'> {
  const { counters } = context;
  return appendCounted(context, message, { ...counters, messagesAppended: counters.messagesAppended + 1 });
}

/**
 * `appendMessage` for a step that changes other counters too: `counters` are the step's new counters,
 * the append already counted in them (one copy of the counters per step, not one per change).
 */
export function appendCounted(
  context: SessionContext,
  message: ConversationMessage,
  counters: SessionCounters,
  history: readonly ConversationMessage[] = context.history,
): Pick<SessionContext, 'history' | 'counters'> {
  return bounded([...history, message], counters, context.settings);
}

/** The history cut to the session's current bound, with the trim counted. */
export function trimmedToBound(
  context: SessionContext,
  settings: SessionSettings = context.settings,
): Pick<SessionContext, 'history' | 'counters'> {
  return bounded(context.history, context.counters, settings);
}

/** Trims `history` to `settings`' bound; `counters` is returned as given when nothing was cut (and is then not copied). */
function bounded(
  history: readonly ConversationMessage[],
  counters: SessionCounters,
  settings: SessionSettings,
): Pick<SessionContext, 'history' | 'counters'> {
  const trimmed = trimHistory(
    history,
    // Logs written before stepped trimming carry settings without a low-water mark: they cut to the bound.
    { maxMessages: settings.maxHistoryMessages, maxTokens: settings.maxHistoryTokens, lowWater: settings.historyLowWater ?? 1 },
    { trimmedBefore: counters.trimmedMessages > 0 },
  );
  if (trimmed.trimmedMessages === 0) return { history, counters };
  return {
    history: trimmed.history,
    counters: {
      ...counters,
      trimmedMessages: counters.trimmedMessages + trimmed.trimmedMessages,
      trimmedTokens: counters.trimmedTokens + trimmed.trimmedTokens,
    },
  };
}

export function headOf(context: SessionContext): WorkItem {
  const head = context.queue[0];
  if (head === undefined) throw new Error(`session ${context.sessionDbId}: no work item at the head of the queue`);
  return head;
}

/**
 * How many head items the next batch takes: a run of consecutive observations, at most `maxBatchItems`
 * of them and, past the first, within `maxBatchTokens`. A prompt or a summarize goes alone: a prompt
 * opens a user turn, and a summary must follow the replies to what came before it.
 */
export function nextBatchSize(context: SessionContext): number {
  const { queue, settings } = context;
  const head = headOf(context);
  // Logs written before batching carry settings without a batch size: they were batches of one.
  const maxItems = context.singlesLeft > 0 ? 1 : (settings.maxBatchItems ?? 1);
  if (head.kind !== 'observation' || maxItems <= 1) return 1;
  let size = 1;
  let tokens = head.promptTokens;
  while (size < maxItems && size < queue.length) {
    const next = queue[size]!;
    if (next.kind !== 'observation' || tokens + next.promptTokens > settings.maxBatchTokens) break;
    tokens += next.promptTokens;
    size++;
  }
  return size;
}

/**
 * Whether the batch at the head of the queue could still take more: a run of observations that is all
 * of the queue (nothing that cannot join is queued behind it), below `maxBatchItems`, in a session that
 * gathers batches and is not completing. Time aside: see `gatherDeadlineOf`.
 */
export function batchCanGrow(context: SessionContext): boolean {
  const { queue, settings } = context;
  if (!((settings.batchWindowMs ?? 0) > 0) || context.completing || context.singlesLeft > 0 || context.batchSize > 0) return false;
  if (queue[0]?.kind !== 'observation') return false;
  const size = nextBatchSize(context);
  return size === queue.length && size < (settings.maxBatchItems ?? 1);
}

/**
 * When the gathering batch closes: `batchWindowMs` after its first item was queued, or `batchQuietMs`
 * after its last one, whichever comes first. So no observation waits in a batch longer than the window.
 */
export function gatherDeadlineOf(context: SessionContext): number {
  const { queue, settings } = context;
  const first = queue[0]?.queuedAt ?? 0;
  const last = queue.at(-1)?.queuedAt ?? first;
  return Math.min(first + (settings.batchWindowMs ?? 0), last + (settings.batchQuietMs ?? 0));
}

/** Joins a batch's prompts into one user message: a blank line between items, tokens summed. */
export const BATCH_SEPARATOR = '\n\n';

/** The batch at the head of the queue as one item: the item itself when alone. */
export function batchItemOf(context: SessionContext, size = Math.max(1, context.batchSize)): WorkItem {
  const head = headOf(context);
  if (size === 1) return head;
  let prompt = head.prompt;
  let promptTokens = head.promptTokens;
  for (let i = 1; i < size; i++) {
    const item = context.queue[i]!;
    prompt += BATCH_SEPARATOR + item.prompt;
    promptTokens += item.promptTokens;
  }
  return { id: head.id, kind: head.kind, prompt, promptTokens, queuedAt: head.queuedAt };
}

/** What the agent is given for the batch at the head of the queue. */
export function agentInputOf(context: SessionContext): AgentInput {
  const item = batchItemOf(context);
  return {
    sessionDbId: context.sessionDbId,
    item,
    items: context.queue.slice(0, Math.max(1, context.batchSize)),
    history: context.history,
    attempt: context.attempt + 1,
    maxAttempts: context.settings.maxAttempts,
    batchStaysInHistory: !digestsBatch(context, item),
  };
}

/** Whether the answered batch's message is replaced by a digest: observations, in a session that digests them. */
function digestsBatch(context: SessionContext, item: WorkItem): boolean {
  return context.settings.digestAnsweredObservations === true && item.kind === 'observation';
}

/** What stands in the history for an answered batch of `count` observations (see `digestAnsweredObservations`). */
export function observationDigest(count: number): ConversationMessage {
  const content =
    count === 1
      ? '[1 tool use, shown in full when it was answered; what you observed of it follows]'
      : `[${count} tool uses, shown in full when they were answered; what you observed of them follows]`;
  // Estimated here (a few tokens, characters / 4), so that replay needs no estimator.
  return { role: 'user', content, tokens: Math.ceil(content.length / 4) };
}

/**
 * The history once the batch at the head is answered, before its reply is appended: the batch's message,
 * if it is still the last one, replaced by its digest when the session digests observations.
 */
export function historyAfterAnswer(context: SessionContext): readonly ConversationMessage[] {
  const size = Math.max(1, context.batchSize);
  const item = batchItemOf(context, size);
  const last = context.history.at(-1);
  if (!digestsBatch(context, item) || last === undefined || last.role !== 'user' || last.content !== item.prompt) return context.history;
  const digest = observationDigest(size);
  return [...context.history.slice(0, -1), last.pinned === true ? { ...digest, pinned: true } : digest];
}

/**
 * A context read from a snapshot, made ready to resume from: a copy (by spread, like `initialContext`,
 * and for the same reason), upgraded if an older version logged it: before batches, the item whose prompt
 * was in history (`promptInHistoryFor`) was a batch of one.
 */
export function upgradedContext(context: SessionContext): SessionContext {
  const upgraded =
    typeof context.batchSize === 'number' && typeof context.singlesLeft === 'number'
      ? { ...context }
      : (() => {
          const { promptInHistoryFor, ...rest } = context as SessionContext & { promptInHistoryFor?: string | null };
          return { ...rest, batchSize: promptInHistoryFor == null ? 0 : 1, singlesLeft: 0 };
        })();
  // Before providers reported cache tokens and who answered: none of either. Before batches gathered: no gather timer.
  if (upgraded.usageByProvider === undefined)
    return {
      ...upgraded,
      counters: { ...ZERO_COUNTERS, ...upgraded.counters },
      usageByProvider: {},
      gatherDeadline: upgraded.gatherDeadline ?? null,
    };
  if (upgraded.gatherDeadline === undefined) return { ...upgraded, gatherDeadline: null };
  return upgraded;
}

/** When the agent's attempt timed out: the agent timer starts when the slot is granted. */
export function timeoutFailure(context: SessionContext): AgentFailure {
  const since = context.processingSince ?? context.lastActivityAt;
  return {
    kind: 'timeout',
    message: `agent gave no answer within ${context.settings.agentTimeoutMs} ms`,
    at: since + context.settings.agentTimeoutMs,
  };
}

export const AGENT_DONE = 'xstate.done.actor.agent';
export const AGENT_ERROR = 'xstate.error.actor.agent';
export const isTimerOf = (event: AnyEventObject, delay: string) => event.type.startsWith(`xstate.after.${delay}.`);

/** The failure the current event reports: the agent's rejection, or its timer running out. */
export function failureOf(context: SessionContext, event: AnyEventObject): AgentFailure {
  return event.type === AGENT_ERROR
    ? asAgentFailure(event.error, context.processingSince ?? context.lastActivityAt)
    : timeoutFailure(context);
}

export function outputOf(event: AnyEventObject): AgentOutput {
  if (event.type !== AGENT_DONE) throw new Error(`expected ${AGENT_DONE}, got ${event.type}`);
  return event.output as AgentOutput;
}

/**
 * When the current event happened, by the registry's clock: stamped on outside events, reported by
 * the agent, or the deadline whose timer fired. Never read from a clock, so replay is exact.
 */
export function eventTime(context: SessionContext, event: AnyEventObject): number {
  if (typeof event.at === 'number') return event.at;
  if (event.type === AGENT_DONE) return outputOf(event).at;
  if (event.type === AGENT_ERROR || isTimerOf(event, 'agentTimeout')) return failureOf(context, event).at;
  if (isTimerOf(event, 'graceDeadline') && context.graceDeadline !== null) return context.graceDeadline;
  if (isTimerOf(event, 'idleDeadline') && context.idleDeadline !== null) return context.idleDeadline;
  if (isTimerOf(event, 'gatherDeadline') && context.gatherDeadline !== null) return context.gatherDeadline;
  return context.lastActivityAt;
}
