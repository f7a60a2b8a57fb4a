import { type ConversationMessage, DEFAULT_HISTORY_LOW_WATER } from '../src/history/index.js';

/** What a unit of queued work is for; it decides only how the prompt was built, not how it is processed. */
export type WorkKind = 'prompt' | 'observation' | 'summarize';

/**
 * One unit of work for the session's agent, processed in order. Consecutive observations at the head of
 * the queue are answered together, as one batch (see `SessionSettings.maxBatchItems`).
 */
export interface WorkItem {
  /** Unique within the session; a hook's `tool_use_id` when it sent one. */
  readonly id: string;
  readonly kind: WorkKind;
  /** The user message the agent receives for this item. */
  readonly prompt: string;
  readonly promptTokens: number;
  readonly toolUseId?: string;
  readonly queuedAt: number;
  /**
   * The user prompt this item belongs to: the session's prompt number when it was queued (a prompt's
   * own number for a prompt). Stamped by the machine, so what is derived from its reply (memories) is
   * attributed to its turn even when the next prompt arrived before the reply. Absent in older logs.
   */
  readonly promptNumber?: number;
}

/**
 * Why a session went away. Every disposal records exactly one, in its context, its log and its
 * `disposed` notice, so that nobody has to guess why a session is gone:
 * - `ttl`: nothing happened for `idleTtlMs` (default 1 h) and nothing came in the `graceMs` (30 s) of
 *   `expiring` after it. Queued work is activity: a session with a queue never expires.
 * - `completed`: asked to complete (`POST /api/sessions/complete`, claude-mem's end of session); its
 *   queue was drained first, so nothing was dropped.
 * - `deleted`: asked to go at once (`DELETE /sessions/:id`); its agent call is aborted and its queued
 *   items dropped, counted in `droppedItems`.
 * - `capacity`: the least recently active idle session, evicted to make room for a new one beyond
 *   `maxActiveSessions` (default 100; engines with the `capacity` capability).
 * - `memory-pressure`: an idle session shed, oldest first, while the heap is over its limit (default
 *   80 % of V8's; engines with the `memoryPressure` capability). Active sessions are never evicted.
 */
export const DISPOSAL_REASONS = ['ttl', 'completed', 'deleted', 'capacity', 'memory-pressure'] as const;
export type DisposalReason = (typeof DISPOSAL_REASONS)[number];

/** A count per disposal reason, all zero (to count disposals into). */
export function noDisposals(): Record<DisposalReason, number> {
  return { ttl: 0, completed: 0, deleted: 0, capacity: 0, 'memory-pressure': 0 };
}
export type EvictionReason = Extract<DisposalReason, 'capacity' | 'memory-pressure'>;

/** Tunables a session carries in its context, so that its log alone explains every decision it made. */
export interface SessionSettings {
  readonly idleTtlMs: number;
  readonly graceMs: number;
  readonly maxHistoryMessages: number;
  readonly maxHistoryTokens: number;
  /**
   * How far a trim cuts once an append takes the history over `maxHistoryMessages` or
   * `maxHistoryTokens`: to this fraction of both (above 0, at most 1). Between cuts the history only
   * grows at its end, so consecutive agent calls share their prefix and the provider's prompt cache
   * serves it (see `HistoryLimits.lowWater`). Logs written before it carry settings without it: their
   * sessions were cut to the bound itself (1).
   */
  readonly historyLowWater: number;
  /** Attempts per work item before it is dropped as failed. */
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** How long processing rests after the provider refused for auth or quota. */
  readonly pauseMs: number;
  readonly agentTimeoutMs: number;
  /**
   * Most items one agent call answers. A batch is a run of consecutive observations at the head of the
   * queue; a prompt or a summarize is always a batch of its own. 1 sends every item alone.
   */
  readonly maxBatchItems: number;
  /** Most estimated prompt tokens a batch of several items holds; a larger single item still goes, alone. */
  readonly maxBatchTokens: number;
  /**
   * How long a batch of observations may gather before it asks for an agent slot, counted from when its
   * first item was queued: observations that arrive meanwhile join it, so a burst of tool uses is
   * answered by one call instead of one per tool use (each call re-reads the history). 0 forms a batch
   * from what is queued when the slot comes, without waiting. The batch closes sooner when it is full
   * (`maxBatchItems`, `maxBatchTokens`), when a prompt or a summarize is queued behind it, when the
   * session is completing, or when no observation has arrived for `batchQuietMs`. Logs written before
   * it carry settings without it: their batches never gathered (0).
   */
  readonly batchWindowMs: number;
  /** A gathering batch closes once no observation has arrived for this long: the burst of tool uses is over. */
  readonly batchQuietMs: number;
  /**
   * Once a batch of observations is answered, its message in the history (the tool uses' inputs and
   * outputs, most of a session's tokens) is replaced by a one-line digest: the reply, which records what
   * the agent made of them, follows it. The agent then never re-reads a tool output it has answered (each
   * is sent once, and need not be cached), and the history holds many more batches within its bound.
   * Prompts and summarize requests stay as they are. Logs written before it carry settings without it:
   * their histories kept every message whole (false).
   */
  readonly digestAnsweredObservations: boolean;
}

/** Chosen from the bursty benchmark (docs/benchmarks.md): see docs/architecture.md, "Batches". */
export const DEFAULT_MAX_BATCH_ITEMS = 20;

/**
 * The worker's gather window (CLAUDE_MEM_BATCH_WINDOW_SECONDS): chosen from the cost benchmark
 * (docs/benchmarks.md, "What a long session costs"), see docs/architecture.md, "Batches". Long enough
 * for a burst of tool uses to gather into one call; short enough that no memory is more than half a
 * minute late.
 */
export const DEFAULT_WORKER_BATCH_WINDOW_MS = 30_000;

/**
 * A gathering batch closes after this long without a new observation (CLAUDE_MEM_BATCH_QUIET_SECONDS):
 * longer than the few seconds an assistant takes between the tool uses of one turn, so that a turn's
 * tool uses gather, and a third of the window, so that a burst that has ended does not wait for all of it.
 */
export const DEFAULT_BATCH_QUIET_MS = 10_000;

export const DEFAULT_SESSION_SETTINGS: SessionSettings = {
  idleTtlMs: 60 * 60_000,
  graceMs: 30_000,
  maxHistoryMessages: 50,
  maxHistoryTokens: 100_000,
  historyLowWater: DEFAULT_HISTORY_LOW_WATER,
  maxAttempts: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  pauseMs: 5 * 60_000,
  agentTimeoutMs: 120_000,
  maxBatchItems: DEFAULT_MAX_BATCH_ITEMS,
  maxBatchTokens: 25_000,
  // A library user's agent may cost nothing per call: batches gather only when asked (the worker asks:
  // DEFAULT_WORKER_BATCH_WINDOW_MS).
  batchWindowMs: 0,
  batchQuietMs: DEFAULT_BATCH_QUIET_MS,
  // The library's history holds what the agent was sent, unless asked (the worker asks).
  digestAnsweredObservations: false,
};

/** What one agent call is given: a batch of work items, with the session's bounded history. */
export interface AgentInput {
  readonly sessionDbId: number;
  /**
   * The batch as one item: for a batch of one, that item; for several, their prompts joined by a blank
   * line (the user message the history holds for them), under the first item's id and time.
   */
  readonly item: WorkItem;
  /** The queued items this call answers, oldest first: one reply answers them all. */
  readonly items: readonly WorkItem[];
  /** The bounded history; its last message is normally `item.prompt`. */
  readonly history: readonly ConversationMessage[];
  /** 1 for the first try of this batch. */
  readonly attempt: number;
  /**
   * Whether the batch's message stays in the history once answered (so later calls send it again, and a
   * provider's prompt cache should keep it), or is replaced by a digest (`digestAnsweredObservations`:
   * it is sent this once, and caching it would only cost). Absent in inputs made before it existed: stays.
   */
  readonly batchStaysInHistory?: boolean;
  /**
   * Attempts this batch gets before it is dropped: `attempt === maxAttempts` is its last. A provider
   * with fallbacks hands a batch on to the next one when the current one refuses its last attempt.
   * (Absent in inputs made before it existed: read it as the default, 3.)
   */
  readonly maxAttempts?: number;
}

/** Tokens as the provider reported them for one call: prompt (uncached), reply, and prompt-cache reads and writes. */
export interface AgentUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Prompt tokens served from the provider's prompt cache (billed at about a tenth). */
  readonly cacheReadTokens?: number;
  /** Prompt tokens written to the provider's prompt cache (Anthropic bills them at 1.25×). */
  readonly cacheWriteTokens?: number;
}

/** What one provider has cost a session: batches it answered and the tokens it reported for them. */
export interface ProviderUsage {
  readonly batches: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

/** One item a reply answers, as its log event keeps it. */
export interface AnsweredItem {
  readonly id: string;
  readonly kind: WorkKind;
  readonly promptNumber?: number;
  readonly toolUseId?: string;
}

/** What an agent call produced. `at` is the clock's time when the reply arrived. */
export interface AgentOutput {
  readonly reply: string;
  readonly replyTokens: number;
  readonly at: number;
  readonly usage?: AgentUsage;
  /** The provider that answered (`claude`, `gemini`, …; with fallbacks, not always the first), logged with the reply. */
  readonly provider?: string;
  /** The model that answered, when the provider says. */
  readonly model?: string;
  /**
   * The items the reply answers (the batch), so that the reply's log event alone says what it is about:
   * memories are derived from it without a replay. The machine itself reads only `batchSize`.
   */
  readonly answers?: readonly AnsweredItem[];
}

/**
 * How an agent call failed. `retryable` and `timeout` go to backoff, `paused` (auth, quota) rests the
 * whole queue, `fatal` drops the item at once (a batch of several is split and its items sent alone).
 */
export interface AgentFailure {
  readonly kind: 'retryable' | 'timeout' | 'paused' | 'fatal';
  readonly message: string;
  readonly at: number;
  /** A provider's Retry-After, when it sent one. */
  readonly retryAfterMs?: number;
}

export interface SessionCounters {
  readonly queued: number;
  readonly processed: number;
  readonly failed: number;
  readonly retries: number;
  readonly pauses: number;
  readonly revivals: number;
  readonly messagesAppended: number;
  readonly trimmedMessages: number;
  readonly trimmedTokens: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

export interface Disposal {
  readonly reason: DisposalReason;
  readonly at: number;
  /** Queued items that were never processed. */
  readonly droppedItems: number;
}

export interface SessionContext {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly settings: SessionSettings;
  readonly createdAt: number;
  /** Last hook activity or agent result; the idle deadline counts from here, lazily. */
  readonly lastActivityAt: number;
  /** The moment the idle timer is armed for; activity after arming moves only `lastActivityAt`. */
  readonly idleDeadline: number | null;
  /** When `expiring` turns into `disposed`. */
  readonly graceDeadline: number | null;
  /** When `backoff` or `paused` lets the head item be tried again. */
  readonly retryAt: number | null;
  /**
   * While a batch gathers: the moment its timer is armed for. Observations that arrive meanwhile move
   * only the batch's closing time (`gatherDeadlineOf`); when the timer fires it waits for the remainder.
   * Absent in snapshots written before batches gathered.
   */
  readonly gatherDeadline: number | null;
  readonly processingSince: number | null;
  readonly promptNumber: number;
  readonly queue: readonly WorkItem[];
  /** Failed attempts of the batch at the head of the queue. */
  readonly attempt: number;
  /**
   * How many items at the head of the queue form the batch being answered; 0 until the next one is
   * formed. Fixed from its first attempt until it is answered or given up (a retry is the same batch),
   * and its user message is in history from then on, once.
   */
  readonly batchSize: number;
  /** Head items still to be sent one at a time: what is left of a batch the provider refused as `fatal`. */
  readonly singlesLeft: number;
  readonly history: readonly ConversationMessage[];
  readonly completing: boolean;
  readonly lastFailure: AgentFailure | null;
  readonly counters: SessionCounters;
  /** Batches answered and tokens reported, by the provider that answered them (see AgentOutput.provider). */
  readonly usageByProvider: Readonly<Record<string, ProviderUsage>>;
  readonly disposal: Disposal | null;
}

export interface SessionInput {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly settings: SessionSettings;
  readonly at: number;
  /** The last prompt number this content session had, when it is revived after a disposal. */
  readonly promptNumber?: number;
}

/** Events from the outside world. Each carries `at`, the registry clock's time, so replay is exact. */
export type SessionEvent =
  | { readonly type: 'INIT'; readonly prompt: string; readonly promptTokens: number; readonly promptNumber: number; readonly at: number }
  | { readonly type: 'WORK_QUEUED'; readonly item: WorkItem; readonly at: number }
  | { readonly type: 'TOUCH'; readonly at: number }
  | { readonly type: 'COMPLETE'; readonly at: number }
  | { readonly type: 'DELETE'; readonly at: number }
  | { readonly type: 'EVICT'; readonly reason: EvictionReason; readonly at: number }
  | { readonly type: 'SLOT_GRANTED'; readonly at: number }
  /**
   * Sent once to an actor resumed from a state it had (after a restart, or waking from dormancy):
   * re-enters that state so its timers count down again from the deadlines in context.
   */
  | { readonly type: 'RECOVER'; readonly at: number; readonly reason?: 'restart' | 'wake'; readonly settings?: SessionSettings }
  /** The agent answered the batch (the name is the one xstate gives an invoked actor's output, which the log has always used). */
  | { readonly type: 'xstate.done.actor.agent'; readonly output: AgentOutput }
  /** The agent call failed. */
  | { readonly type: 'xstate.error.actor.agent'; readonly error: AgentFailure };

/**
 * What a state means to the world outside the machine, so that it asks with tags, never with state names:
 * - `batch-gathering`: its next batch waits, holding no slot, for the rest of its burst (`active.gathering`);
 * - `slot-request`: the session has asked for an agent slot and waits for it (`active.waiting`);
 * - `agent-call`: it holds a slot and its agent call is in flight (`active.processing`);
 * - `retry-wait`: its batch goes again at `retryAt`, after a failure or a provider's refusal (`active.backoff`, `active.paused`);
 * - `resting`: it has no queued work (`idle`, `expiring`): the only sessions capacity or memory may evict;
 * - `hibernatable`: it may give up its actor and sleep until work or its deadline wakes it (`idle`).
 */
export type SessionTag = 'batch-gathering' | 'slot-request' | 'agent-call' | 'retry-wait' | 'resting' | 'hibernatable';

/** Top-level phases of a session, as the HTTP API reports them: the machine's top-level states. */
export const LIFECYCLES = ['active', 'idle', 'expiring', 'disposed'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];
