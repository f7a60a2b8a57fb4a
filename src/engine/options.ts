/**
 * The options every engine takes for its sessions, with their defaults, their validation and why each
 * default is what it is: declared once, resolved by the same code on both engines (the embedded
 * registry adds its own options on top, in src/registry/options.ts; the Restate services theirs, in
 * src/cluster/service.ts). Also how the worker's configuration becomes these options.
 * May not: know which engine runs the sessions.
 */
import { z } from 'zod';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../../machines/session.machine.js';
import type { Agent } from '../agents/index.js';
import { MAX_TIMER_MS } from '../clock/index.js';
import type { WorkerConfig } from '../config/index.js';
import { estimateTokens as defaultEstimate, type TokenEstimator } from '../history/index.js';

/**
 * What a session carries and what bounds its work, on any engine. Every field is optional; the default
 * is given with each, and why. Durations are in milliseconds and at most 2,147,483,647 (24.8 days:
 * Node fires a longer `setTimeout` after 1 ms, which would expire every session at once).
 */
export interface SessionOptions {
  /** Produces the replies. Called for at most `maxConcurrentAgents` batches at once. Required. */
  readonly agent: Agent;
  /**
   * Idle time before a session starts `expiring`. Default 1 h (CLAUDE_MEM_SESSION_TTL_MINUTES): a coding
   * session pauses for meetings and lunch; an hour keeps its conversation for the agent, and a session
   * idle longer than that costs a few hundred bytes at most while it waits (dormancy).
   */
  readonly idleTtlMs?: number;
  /**
   * Time from `expiring` to `disposed`, during which new work revives the session. Default 30 s: a hook
   * that arrives just after the TTL (a slow tool, a resumed laptop) still finds its session. May be 0.
   */
  readonly graceMs?: number;
  /**
   * Most messages a session's history holds (a high-water mark: an append over it cuts to
   * `historyLowWater` of it). Default 50 (CLAUDE_MEM_MAX_CONVERSATION_HISTORY), claude-mem's own bound.
   */
  readonly maxHistoryMessages?: number;
  /**
   * Most estimated tokens a session's history holds (a high-water mark, like `maxHistoryMessages`).
   * Default 100,000 (CLAUDE_MEM_MAX_CONVERSATION_TOKENS): half of a 200k-token model context, leaving
   * room for the system prompt, the batch and the reply.
   */
  readonly maxHistoryTokens?: number;
  /**
   * Where a trim cuts to, as a fraction of both bounds (above 0, at most 1). Default 0.25
   * (CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT): cut in steps, consecutive calls share their prefix and
   * providers' prompt caches bill most of it at a tenth (docs/architecture.md, "History bound, in steps").
   */
  readonly historyLowWater?: number;
  /** Attempts a batch gets before it is dropped as failed. Default 3: a transient failure twice in a row is rare; a third means trouble. */
  readonly maxAttempts?: number;
  /** The first backoff after a failed attempt, doubling after each (no jitter, so replays are exact). Default 1 s. */
  readonly backoffBaseMs?: number;
  /** The longest backoff. Default 60 s. Raised to `backoffBaseMs` if below it. */
  readonly backoffMaxMs?: number;
  /**
   * How long a session's queue rests after the provider refused for auth or quota (unless it says how
   * long, Retry-After). Default 5 min: long enough not to burn a quota, short enough to pick up a fixed key.
   */
  readonly pauseMs?: number;
  /** An agent call unanswered this long is aborted and retried as a failure. Default 2 min (CLAUDE_MEM_AGENT_TIMEOUT_SECONDS). */
  readonly agentTimeoutMs?: number;
  /**
   * Most items one agent call answers. Default 20 (CLAUDE_MEM_MAX_BATCH_ITEMS), from the bursty
   * benchmark: a reply of 20 observations stays within models' output limits and the agent timeout
   * (docs/architecture.md, "Why 20"). 1 sends every item alone.
   */
  readonly maxBatchItems?: number;
  /**
   * Most estimated prompt tokens in a batch of several items (a larger single item still goes, alone).
   * Default: a quarter of `maxHistoryTokens`, so that a batch's message and its reply stay in the history.
   */
  readonly maxBatchTokens?: number;
  /**
   * How long a batch of observations gathers, holding no slot, before it asks for one, counted from its
   * first item: a burst of tool uses is then answered by one call instead of several, each re-reading
   * the history. Default 0 in the library (an agent of its own may cost nothing per call); the worker
   * sets 30 s (CLAUDE_MEM_BATCH_WINDOW_SECONDS), measured by bench:cost. The batch closes sooner when
   * full, when a prompt or summarize follows it, when the session completes, or after `batchQuietMs`.
   */
  readonly batchWindowMs?: number;
  /**
   * A gathering batch closes once no observation has arrived for this long: the burst is over. Default
   * 10 s (CLAUDE_MEM_BATCH_QUIET_SECONDS): tool uses within a burst come 1–3 s apart.
   */
  readonly batchQuietMs?: number;
  /**
   * Whether an answered batch of observations stays in the history as a one-line digest instead of its
   * tool outputs: each output is then sent once, and the history holds many more batches within its
   * bound. Default false in the library (its history holds what the agent was sent); the worker sets it
   * (CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS).
   */
  readonly digestAnsweredObservations?: boolean;
  /**
   * Agent calls in flight at once, across all sessions (on Restate, across the cluster). Default 2
   * (CLAUDE_MEM_MAX_CONCURRENT_AGENTS): a developer's machine runs a couple of model calls at once
   * without starving the assistant itself; more only queue at the provider's rate limit.
   */
  readonly maxConcurrentAgents?: number;
  /**
   * Unprocessed items one session may hold; more work for it is refused (`queue-full`, 503) until it
   * drains. Default 1,000 (CLAUDE_MEM_MAX_QUEUED_ITEMS): hours of tool use while a provider is paused,
   * and the queue is part of the immutable context, copied on every enqueue: it must stay bounded.
   */
  readonly maxQueuedItems?: number;
  /**
   * The wait advised with a `queue-full` (and, embedded, `at-capacity`) refusal: the `Retry-After` of the
   * 503. Default 5 s: about one agent call, after which a slot or a queue place is likely free.
   */
  readonly retryAfterMs?: number;
  /**
   * How long a disposed session's events (and its tool_use_ids) are kept before they are compacted to
   * a summary (embedded) or forgotten (Restate). Default 24 h (CLAUDE_MEM_EVENT_RETENTION_HOURS): a day
   * to audit or replay what happened; the log must not become the new leak. May be 0.
   */
  readonly retentionMs?: number;
  /** A text's estimated tokens. Default `ceil(chars / 4)` (estimateTokens), the usual rule of thumb for English and code. */
  readonly estimateTokens?: TokenEstimator;
}

/** The options with every default applied, validated. */
export interface ResolvedSessionOptions {
  readonly agent: Agent;
  /** What each new session carries in its context (so that its log alone explains its decisions). */
  readonly settings: SessionSettings;
  readonly maxConcurrentAgents: number;
  readonly maxQueuedItems: number;
  readonly retryAfterMs: number;
  readonly retentionMs: number;
  readonly estimateTokens: TokenEstimator;
}

/** The defaults beyond the sessions' settings (DEFAULT_SESSION_SETTINGS); the docs above say why each. */
export const DEFAULT_SESSION_OPTIONS = {
  maxConcurrentAgents: 2,
  maxQueuedItems: 1_000,
  retryAfterMs: 5_000,
  retentionMs: 24 * 3_600_000,
} as const;

/**
 * Defaults of the options only an engine that holds its sessions in this process takes (capacity,
 * memory pressure, dormancy, its own log): the registry declares those options and says why each
 * default (src/registry/options.ts); they are here so that the worker's configuration shares them.
 */
export const DEFAULT_PROCESS_OPTIONS = {
  maxActiveSessions: 100,
  memoryLimitPercent: 80,
  memoryTargetPercent: 75,
  memoryIntervalMs: 5_000,
  snapshotEvery: 500,
  compactionIntervalMs: 3_600_000,
  hibernateAfterMs: 60_000,
  writeProbeIntervalMs: 1_000,
} as const;

const timerLimit = `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`;
/** A positive duration a timer can wait for. */
export const positiveMs = z.number().positive().max(MAX_TIMER_MS, timerLimit);
/** A duration that may also be 0. */
export const nonNegativeMs = z.number().nonnegative().max(MAX_TIMER_MS, timerLimit);
/** A positive whole count. */
export const count = z.number().int().positive();

const sessionNumbers = z.object({
  idleTtlMs: positiveMs,
  graceMs: nonNegativeMs,
  maxHistoryMessages: count,
  maxHistoryTokens: count,
  historyLowWater: z.number().gt(0, 'must be above 0').lte(1, 'must be at most 1 (a fraction of the bounds)'),
  maxAttempts: count,
  backoffBaseMs: positiveMs,
  backoffMaxMs: positiveMs,
  pauseMs: positiveMs,
  agentTimeoutMs: positiveMs,
  maxBatchItems: count,
  maxBatchTokens: count,
  batchWindowMs: nonNegativeMs,
  batchQuietMs: nonNegativeMs,
  digestAnsweredObservations: z.boolean(),
  maxConcurrentAgents: count,
  maxQueuedItems: count,
  retryAfterMs: positiveMs,
  retentionMs: z.number().nonnegative(),
});

/**
 * `options` over `defaults` (an option left undefined takes its default), parsed by `schema`: how every
 * engine's options are resolved. Nonsense is a RangeError naming whose options they are (`who`) and the
 * option (`prefix` names a nested object's: `memoryPressure.`).
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  defaults: object,
  options: object,
  who: string,
  prefix = '',
): z.output<Schema> {
  const parsed = schema.safeParse({ ...defaults, ...definedOnly(options) });
  if (!parsed.success) throw new RangeError(`${who}: ${describeIssues(parsed.error, prefix)}`);
  return parsed.data;
}

/** `record` without its undefined fields (so that a default applies where an option was left undefined). */
function definedOnly(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** Zod's issues as one line, each naming the option. */
function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues.map((issue) => `${prefix}${issue.path.join('.')}: ${issue.message}`).join('; ');
}

/**
 * Applies the defaults and rejects nonsense with a message naming the option (`who` says whose options
 * they are: `createSessionRegistry`, `session service`).
 */
export function resolveSessionOptions(options: SessionOptions, who: string): ResolvedSessionOptions {
  if (typeof options?.agent?.run !== 'function') {
    throw new TypeError(`${who}: \`agent\` must be an object with a run(request, signal) method`);
  }
  const historyTokens = options.maxHistoryTokens ?? DEFAULT_SESSION_SETTINGS.maxHistoryTokens;
  const defaults = {
    ...DEFAULT_SESSION_SETTINGS,
    // A batch holds at most a quarter of the history's token bound, unless told otherwise.
    maxBatchTokens: Number.isFinite(historyTokens) ? Math.max(1, Math.floor(historyTokens / 4)) : DEFAULT_SESSION_SETTINGS.maxBatchTokens,
    ...DEFAULT_SESSION_OPTIONS,
  };
  const n = parseOptions(sessionNumbers, defaults, pick(options, Object.keys(sessionNumbers.shape)), who);
  return {
    agent: options.agent,
    settings: {
      idleTtlMs: n.idleTtlMs,
      graceMs: n.graceMs,
      maxHistoryMessages: n.maxHistoryMessages,
      maxHistoryTokens: n.maxHistoryTokens,
      historyLowWater: n.historyLowWater,
      maxAttempts: n.maxAttempts,
      backoffBaseMs: n.backoffBaseMs,
      backoffMaxMs: Math.max(n.backoffMaxMs, n.backoffBaseMs),
      pauseMs: n.pauseMs,
      agentTimeoutMs: n.agentTimeoutMs,
      maxBatchItems: n.maxBatchItems,
      maxBatchTokens: n.maxBatchTokens,
      batchWindowMs: n.batchWindowMs,
      batchQuietMs: n.batchQuietMs,
      digestAnsweredObservations: n.digestAnsweredObservations,
    },
    maxConcurrentAgents: n.maxConcurrentAgents,
    maxQueuedItems: n.maxQueuedItems,
    retryAfterMs: n.retryAfterMs,
    retentionMs: n.retentionMs,
    estimateTokens: options.estimateTokens ?? defaultEstimate,
  };
}

function pick(record: object, keys: readonly string[]): Record<string, unknown> {
  const source = record as Record<string, unknown>;
  return Object.fromEntries(keys.filter((key) => key in source).map((key) => [key, source[key]]));
}

/** The session options the worker's configuration names (settings.json and CLAUDE_MEM_*), for any engine. */
export function sessionOptionsFromConfig(config: WorkerConfig): Omit<SessionOptions, 'agent'> {
  return {
    idleTtlMs: config.sessionTtlMs,
    graceMs: config.graceMs,
    maxHistoryMessages: config.maxConversationHistory,
    maxHistoryTokens: config.maxConversationTokens,
    historyLowWater: config.historyLowWater,
    agentTimeoutMs: config.agentTimeoutMs,
    maxConcurrentAgents: config.maxConcurrentAgents,
    maxQueuedItems: config.maxQueuedItems,
    maxBatchItems: config.maxBatchItems,
    batchWindowMs: config.batchWindowMs,
    batchQuietMs: config.batchQuietMs,
    digestAnsweredObservations: config.digestAnsweredObservations,
    retentionMs: config.eventRetentionMs,
  };
}
