/**
 * The registry's own vocabulary beyond the engine contract's (src/engine: targets, requests, results,
 * refusals, listener payloads): its listeners' `expiring`, its stats, its reports, its interface.
 * Types only; the behaviour lives in the files beside it.
 */

import type {
  CommandResult,
  EngineEvents,
  EngineHealth,
  EngineStats,
  EnqueueResult,
  InitResult,
  PromptRequest,
  SessionTarget,
  WorkRequest,
} from '../engine/index.js';
import type { SkippedEvent } from '../replay/index.js';
import type { SessionView } from '../session/index.js';
import type { CompactionReport } from '../store/index.js';

export interface SessionExpiring {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly graceDeadline: number;
}

export interface RegistryEvents extends EngineEvents {
  expiring: SessionExpiring;
}

/** The engine's stats (since this process started), and what only the registry counts. */
export interface RegistryStats extends Omit<EngineStats, 'dormant' | 'frozen'> {
  /** Live sessions idle long enough to be held without an actor (see `hibernateAfterMs`). */
  readonly dormant: number;
  /** Live sessions held at the log's state after a failed commit, until the log can be written again. */
  readonly frozen: number;
  readonly refusedAtCapacity: number;
  /** Work refused because its session's queue was full. */
  readonly refusedQueueFull: number;
  /** Commands refused because the log could not be written. */
  readonly refusedLogUnwritable: number;
}

export interface ShutdownReport {
  /** Sessions stopped without being disposed: the log has them for the next start. */
  readonly stopped: number;
  /** Agent calls still in flight when the drain period ended, aborted through their signals. */
  readonly abortedAgentCalls: number;
}

export interface RecoveryReport {
  /** Sessions restored, by the state the log left them in (before RECOVER re-armed them). */
  readonly restored: Readonly<Record<string, number>>;
  readonly sessions: number;
  readonly eventsReplayed: number;
  /** Sessions whose replay started from a snapshot rather than from their creation. */
  readonly fromSnapshots: number;
  /** Events that could not be replayed (unknown type, unreadable payload), skipped with a warning. */
  readonly skipped: readonly (SkippedEvent & { readonly sessionDbId: number })[];
  readonly durationMs: number;
}

export interface SessionRegistry {
  /** Starts (or revives) a session with a user prompt, which becomes its next work item. */
  init(target: SessionTarget, request: PromptRequest): Promise<InitResult>;
  /**
   * Queues work; a session that is not live is revived, or created for an unknown content session. With
   * `requirePrompt`, work for a content session that never had a public prompt is refused (`not-prompted`).
   */
  enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult>;
  /** Activity without work: pushes the idle deadline out, revives an expiring session. */
  touch(target: SessionTarget): Promise<CommandResult>;
  /** Drains the queue, then disposes with reason `completed`. */
  complete(target: SessionTarget): Promise<CommandResult>;
  /** Disposes at once with reason `deleted`; queued items are dropped (and counted). */
  delete(target: SessionTarget): Promise<CommandResult>;
  get(target: SessionTarget): SessionView | undefined;
  list(): SessionView[];
  stats(): RegistryStats;
  /** Whether the log can be written; when it cannot, why (the cause and the file) and since when. */
  health(): EngineHealth;
  on<K extends keyof RegistryEvents>(event: K, listener: (payload: RegistryEvents[K]) => void): () => void;
  /** Evicts idle sessions now if the heap is over the limit (the monitor also does so on its own). */
  checkMemoryPressure(): void;
  /**
   * Rebuilds every session the log shows live (from its latest snapshot, then the tail) and resumes it:
   * timers count down what remained of their deadlines, queued work is taken up again. A session that is
   * addressed before `recover()` ran is restored on the spot, so no acknowledged work is ever shadowed.
   */
  recover(): Promise<RecoveryReport>;
  /** Compacts streams of sessions disposed more than `retentionMs` ago (also runs every `compactionIntervalMs`). */
  compact(): CompactionReport;
  /**
   * Stops every actor without disposing it. In-flight agent calls get `drainMs` to finish (no new call
   * starts meanwhile), then are aborted. Resolves once the log is flushed.
   */
  shutdown(options?: { readonly drainMs?: number }): Promise<ShutdownReport>;
}
