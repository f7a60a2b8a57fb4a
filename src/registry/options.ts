import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../../machines/session.machine.js';
import type { Agent } from '../agents/index.js';
import { type Clock, systemClock } from '../clock/index.js';
import { estimateTokens, type TokenEstimator } from '../history/index.js';
import type { EventStore } from '../store/index.js';
import { type HeapReader, type MemoryPressureOptions, readV8Heap } from './memory.js';

/** The subset of a pino logger the registry writes to. */
export interface RegistryLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SessionRegistryOptions extends Partial<Omit<SessionSettings, 'maxBatchTokens'>> {
  /** Produces the replies. Called for at most `maxConcurrentAgents` batches at once. */
  readonly agent: Agent;
  /**
   * Most estimated prompt tokens in a batch of several items (a larger single item still goes, alone).
   * Default: a quarter of `maxHistoryTokens`, so a batch's message and its reply stay in the history.
   */
  readonly maxBatchTokens?: number;
  /** Live sessions; beyond it the least recently active idle one is evicted. Default 100. */
  readonly maxActiveSessions?: number;
  /** Agent calls in flight at once, across all sessions. Default 2. */
  readonly maxConcurrentAgents?: number;
  /** Unprocessed items one session may hold; more work for it is refused (`queue-full`) until it drains. Default 1,000. */
  readonly maxQueuedItems?: number;
  readonly clock?: Clock;
  readonly estimateTokens?: TokenEstimator;
  /** Heap polling and shedding of idle sessions; `false` turns it off. */
  readonly memoryPressure?: MemoryPressureOptions | false;
  /** Where identities and events go. Default: nothing is logged (see `createEphemeralStore`). */
  readonly store?: EventStore;
  readonly logger?: RegistryLogger;
  /** The wait a refused caller is advised, when every live session is active. Default 5 s. */
  readonly retryAfterMs?: number;
  /** Receives xstate inspection events of every session actor (for @statelyai/inspect, or tests). */
  readonly inspect?: (event: InspectionEvent) => void;
  /**
   * A snapshot of a session is logged every this many of its events, and when it goes dormant, so that
   * recovery replays only the tail. Default 500.
   */
  readonly snapshotEvery?: number;
  /** How long a disposed session's stream is kept whole before it is compacted to a summary. Default 24 h. */
  readonly retentionMs?: number;
  /** How often compaction runs (only with a `store`). Default 1 h. */
  readonly compactionIntervalMs?: number;
  /**
   * An idle session untouched this long gives up its actor and is held as its last context until work
   * or its deadline wakes it (a few hundred bytes instead of several kilobytes). `false` keeps every
   * live session awake. Default 1 min.
   */
  readonly hibernateAfterMs?: number | false;
  /** While the log cannot be written, how often a probe write checks whether it can again. Default 1 s. */
  readonly writeProbeIntervalMs?: number;
}

export interface ResolvedOptions {
  readonly agent: Agent;
  readonly settings: SessionSettings;
  readonly maxActiveSessions: number;
  readonly maxConcurrentAgents: number;
  readonly maxQueuedItems: number;
  readonly clock: Clock;
  readonly estimateTokens: TokenEstimator;
  readonly memoryPressure:
    | { readonly limitPercent: number; readonly targetPercent: number; readonly intervalMs: number; readonly read: HeapReader }
    | false;
  readonly store: EventStore | undefined;
  readonly logger: RegistryLogger;
  readonly retryAfterMs: number;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly snapshotEvery: number;
  readonly retentionMs: number;
  readonly compactionIntervalMs: number;
  readonly hibernateAfterMs: number | false;
  readonly writeProbeIntervalMs: number;
}

/** setTimeout's ceiling: longer delays fire after 1 ms in Node, which would expire sessions at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const positiveMs = z.number().positive().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`);
const count = z.number().int().positive();
const percent = z.number().gt(0).lte(100);

const numericOptions = z.object({
  idleTtlMs: positiveMs,
  graceMs: z.number().nonnegative().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`),
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
  batchWindowMs: z.number().nonnegative().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`),
  batchQuietMs: z.number().nonnegative().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`),
  digestAnsweredObservations: z.boolean(),
  maxActiveSessions: count,
  maxConcurrentAgents: count,
  maxQueuedItems: count,
  retryAfterMs: positiveMs,
  snapshotEvery: count,
  retentionMs: z.number().nonnegative(),
  compactionIntervalMs: positiveMs,
  writeProbeIntervalMs: positiveMs,
  hibernateAfterMs: z.union([
    z.literal(false),
    z.number().nonnegative().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (24.8 days), setTimeout's limit`),
  ]),
});

const memoryOptions = z
  .object({ limitPercent: percent, targetPercent: percent, intervalMs: positiveMs })
  .refine((memory) => memory.targetPercent < memory.limitPercent, {
    message: 'targetPercent must be below limitPercent',
    path: ['targetPercent'],
  });

const silentLogger: RegistryLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Applies defaults and rejects nonsense with a message that names the option. */
export function resolveOptions(options: SessionRegistryOptions): ResolvedOptions {
  if (typeof options?.agent?.run !== 'function') {
    throw new TypeError('createSessionRegistry: `agent` must be an object with a run(request, signal) method');
  }
  const historyTokens = options.maxHistoryTokens ?? DEFAULT_SESSION_SETTINGS.maxHistoryTokens;
  const numbers = numericOptions.safeParse({
    ...DEFAULT_SESSION_SETTINGS,
    maxBatchTokens: Number.isFinite(historyTokens) ? Math.max(1, Math.floor(historyTokens / 4)) : DEFAULT_SESSION_SETTINGS.maxBatchTokens,
    maxActiveSessions: 100,
    maxConcurrentAgents: 2,
    maxQueuedItems: 1_000,
    retryAfterMs: 5_000,
    snapshotEvery: 500,
    retentionMs: 24 * 3_600_000,
    compactionIntervalMs: 3_600_000,
    hibernateAfterMs: 60_000,
    writeProbeIntervalMs: 1_000,
    ...definedOnly(options),
  });
  if (!numbers.success) throw new RangeError(`createSessionRegistry: ${describeIssues(numbers.error)}`);

  let memoryPressure: ResolvedOptions['memoryPressure'] = false;
  if (options.memoryPressure !== false) {
    const memory = memoryOptions.safeParse({
      limitPercent: 80,
      targetPercent: 75,
      intervalMs: 5_000,
      ...definedOnly(options.memoryPressure ?? {}),
    });
    if (!memory.success) throw new RangeError(`createSessionRegistry: memoryPressure.${describeIssues(memory.error)}`);
    memoryPressure = { ...memory.data, read: options.memoryPressure?.read ?? readV8Heap };
  }

  const n = numbers.data;
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
    maxActiveSessions: n.maxActiveSessions,
    maxConcurrentAgents: n.maxConcurrentAgents,
    maxQueuedItems: n.maxQueuedItems,
    clock: options.clock ?? systemClock,
    estimateTokens: options.estimateTokens ?? estimateTokens,
    memoryPressure,
    store: options.store,
    logger: options.logger ?? silentLogger,
    retryAfterMs: n.retryAfterMs,
    inspect: options.inspect,
    snapshotEvery: n.snapshotEvery,
    retentionMs: n.retentionMs,
    compactionIntervalMs: n.compactionIntervalMs,
    hibernateAfterMs: n.hibernateAfterMs,
    writeProbeIntervalMs: n.writeProbeIntervalMs,
  };
}

function definedOnly(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}
