/**
 * Owns the registry's options: the engine's session options (src/engine/options.ts: defaults, bounds
 * and why, shared with the Restate engine) and those only a process that holds its sessions has
 * (capacity, memory pressure, dormancy, its log and its clock), each with its default and why.
 * May not: resolve the session options itself (one rule for both engines).
 */
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { type Clock, systemClock } from '../clock/index.js';
import type { ResolvedSessionOptions, SessionOptions } from '../engine/index.js';
import { count, DEFAULT_PROCESS_OPTIONS, nonNegativeMs, parseOptions, positiveMs, resolveSessionOptions } from '../engine/index.js';
import type { EventStore } from '../store/index.js';
import { type HeapReader, type MemoryPressureOptions, readV8Heap } from './memory.js';

/** The subset of a pino logger the registry writes to. */
export interface RegistryLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface SessionRegistryOptions extends SessionOptions {
  /**
   * Live sessions; beyond it the least recently active idle one is evicted (reason `capacity`), and when
   * every live one is active new work is refused (`at-capacity`). Default 100
   * (CLAUDE_MEM_MAX_ACTIVE_SESSIONS): far more than one developer's concurrent sessions, and an awake
   * session costs about 7 KB, so 100 of them stay under a megabyte.
   */
  readonly maxActiveSessions?: number;
  /** Where time is read and timers are armed. Default the process clock (faked in tests). */
  readonly clock?: Clock;
  /**
   * Heap polling and shedding of idle sessions (reason `memory-pressure`): every `intervalMs` (5 s) the
   * V8 heap is read; above `limitPercent` (80) of its limit, idle sessions are evicted, oldest first,
   * until `targetPercent` (75) would hold (CLAUDE_MEM_MEMORY_LIMIT_PERCENT, _TARGET_PERCENT). `false`
   * turns it off. Default on: the 54 GB worker this project exists to prevent never looked at its heap.
   */
  readonly memoryPressure?: MemoryPressureOptions | false;
  /** Where identities and events go. Default: nothing is logged (see `createEphemeralStore`). */
  readonly store?: EventStore;
  /** Where the registry says what it does (pino's interface). Default: silent. */
  readonly logger?: RegistryLogger;
  /** Receives xstate inspection events of every session actor (for @statelyai/inspect, or tests). Default none. */
  readonly inspect?: (event: InspectionEvent) => void;
  /**
   * A snapshot of a session is logged every this many of its events, and when it goes dormant, so that
   * recovery replays only the tail. Default 500: recovery of a session then replays at most 500 events
   * (well under a millisecond), while a snapshot (a whole context) is written rarely.
   */
  readonly snapshotEvery?: number;
  /** How often compaction of disposed streams runs (only with a `store`). Default 1 h: retention is counted in hours. */
  readonly compactionIntervalMs?: number;
  /**
   * An idle session untouched this long gives up its actor and is held as its last context until work
   * or its deadline wakes it (about 1.2 KB instead of 7 KB). `false` keeps every live session awake.
   * Default 1 min: a session idle for a minute is usually idle for long, and waking costs one logged RECOVER.
   */
  readonly hibernateAfterMs?: number | false;
  /**
   * While the log cannot be written, how often a probe write checks whether it can again; also the
   * `retryAfterMs` of a `log-unwritable` refusal. Default 1 s: a freed disk is noticed at once, for the
   * cost of one small write a second while it is full.
   */
  readonly writeProbeIntervalMs?: number;
}

export interface ResolvedOptions extends ResolvedSessionOptions {
  readonly maxActiveSessions: number;
  readonly clock: Clock;
  readonly memoryPressure:
    | { readonly limitPercent: number; readonly targetPercent: number; readonly intervalMs: number; readonly read: HeapReader }
    | false;
  readonly store: EventStore | undefined;
  readonly logger: RegistryLogger;
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  readonly snapshotEvery: number;
  readonly compactionIntervalMs: number;
  readonly hibernateAfterMs: number | false;
  readonly writeProbeIntervalMs: number;
}

/** The registry's own defaults (declared with the worker's configuration's, in one place); the docs above say why each. */
const REGISTRY_DEFAULTS = {
  maxActiveSessions: DEFAULT_PROCESS_OPTIONS.maxActiveSessions,
  snapshotEvery: DEFAULT_PROCESS_OPTIONS.snapshotEvery,
  compactionIntervalMs: DEFAULT_PROCESS_OPTIONS.compactionIntervalMs,
  hibernateAfterMs: DEFAULT_PROCESS_OPTIONS.hibernateAfterMs,
  writeProbeIntervalMs: DEFAULT_PROCESS_OPTIONS.writeProbeIntervalMs,
};
const MEMORY_DEFAULTS = {
  limitPercent: DEFAULT_PROCESS_OPTIONS.memoryLimitPercent,
  targetPercent: DEFAULT_PROCESS_OPTIONS.memoryTargetPercent,
  intervalMs: DEFAULT_PROCESS_OPTIONS.memoryIntervalMs,
};

const percent = z.number().gt(0).lte(100);

const registryNumbers = z.object({
  maxActiveSessions: count,
  snapshotEvery: count,
  compactionIntervalMs: positiveMs,
  writeProbeIntervalMs: positiveMs,
  hibernateAfterMs: z.union([z.literal(false), nonNegativeMs]),
});

const memoryOptions = z
  .object({ limitPercent: percent, targetPercent: percent, intervalMs: positiveMs })
  .refine((memory) => memory.targetPercent < memory.limitPercent, {
    message: 'targetPercent must be below limitPercent',
    path: ['targetPercent'],
  });

const silentLogger: RegistryLogger = { debug() {}, info() {}, warn() {}, error() {} };

const WHO = 'createSessionRegistry';

/** Applies defaults and rejects nonsense with a message that names the option. */
export function resolveOptions(options: SessionRegistryOptions): ResolvedOptions {
  const session = resolveSessionOptions(options, WHO);
  const numbers = parseOptions(registryNumbers, REGISTRY_DEFAULTS, options, WHO);

  let memoryPressure: ResolvedOptions['memoryPressure'] = false;
  if (options.memoryPressure !== false) {
    const memory = parseOptions(memoryOptions, MEMORY_DEFAULTS, options.memoryPressure ?? {}, WHO, 'memoryPressure.');
    memoryPressure = { ...memory, read: options.memoryPressure?.read ?? readV8Heap };
  }

  return {
    ...session,
    ...numbers,
    clock: options.clock ?? systemClock,
    memoryPressure,
    store: options.store,
    logger: options.logger ?? silentLogger,
    inspect: options.inspect,
  };
}
