/**
 * The session engine contract: what the worker's routes, its metrics and the dashboard may ask of
 * whatever runs the sessions, and what they get back. Types only, and owned by no engine: the embedded
 * engine (src/registry) and the Restate engine (src/cluster) each implement it in their own folder, and
 * test/engine/conformance.ts is the suite both pass. A third engine is a folder that implements this
 * and passes that suite (docs/architecture.md, "Adding an engine").
 */

import type { PromptCommand, WorkCommand } from '../../machines/session.commands.js';
import type { Disposal, DisposalReason, Lifecycle, SessionContext, SessionCounters } from '../../machines/session.machine.js';
import type { MemoryStore } from '../memories/index.js';
import type { TimelineEntry } from '../replay/index.js';
import type { SessionView, UsageByProvider } from '../session/index.js';
import type { StreamStatus, StreamSummary } from '../store/index.js';

/** Names a session by its durable id, or by the content session id the hooks know it by. */
export type SessionTarget = { readonly sessionDbId: number } | { readonly contentSessionId: string; readonly project?: string };

/** A user prompt for `init`: it becomes the session's next work item (a repeated prompt number is only activity). */
export type PromptRequest = PromptCommand;

/** Work for `enqueue`: an observation or a summarize, with the hook's tool_use_id when it sent one. */
export type WorkRequest = WorkCommand;

/**
 * Why a command recorded nothing. Every engine answers with these and only these, so that a route maps
 * each to one status code whatever runs the sessions:
 * - `not-found`: no live session by that id (complete, delete, touch), or no session ever opened by it.
 * - `at-capacity`: every live session is active and `maxActiveSessions` is reached (engines with the
 *   `capacity` capability); nothing was created. Retry after `retryAfterMs`.
 * - `queue-full`: the session already holds `maxQueuedItems` unprocessed items (its provider may be
 *   paused). Retry after `retryAfterMs`, once it drained.
 * - `not-prompted`: work with `requirePrompt` for a content session that never had a public prompt
 *   (claude-mem's privacy rule); nothing recorded, no session created.
 * - `shutting-down`: the engine is closing; the caller retries against the next worker.
 * - `log-unwritable`: the engine's own log cannot be written (disk full, I/O error, read-only file):
 *   nothing was recorded. `message` names the cause and the file.
 * - `engine-unavailable`: the engine could not be reached in time (Restate down or partitioned). The
 *   request was not acknowledged; retried calls inside the engine carried one idempotency key, so it
 *   was applied at most once, but it may have been applied.
 */
export type Refusal =
  | { readonly ok: false; readonly error: 'not-found' }
  | { readonly ok: false; readonly error: 'at-capacity'; readonly retryAfterMs: number }
  | { readonly ok: false; readonly error: 'queue-full'; readonly retryAfterMs: number }
  | { readonly ok: false; readonly error: 'not-prompted' }
  | { readonly ok: false; readonly error: 'shutting-down' }
  | { readonly ok: false; readonly error: 'log-unwritable'; readonly message: string; readonly retryAfterMs: number }
  | { readonly ok: false; readonly error: 'engine-unavailable'; readonly message: string; readonly retryAfterMs: number };

/** The refusals only some engines give (kept as a name of their own for library users of earlier versions). */
export type EngineRefusal = Extract<Refusal, { readonly error: 'engine-unavailable' | 'not-prompted' }>;
/** Earlier name of {@link WorkRequest}. */
export type EngineWorkRequest = WorkRequest;

export type InitResult =
  | { readonly ok: true; readonly sessionDbId: number; readonly promptNumber: number; readonly created: boolean }
  | Refusal;

export type EnqueueResult =
  | {
      readonly ok: true;
      /** `duplicate`: a tool_use_id the session was given before (however long ago); nothing queued, nothing revived. */
      readonly status: 'queued' | 'duplicate';
      readonly sessionDbId: number;
      readonly queueLength: number;
    }
  | Refusal;

export type CommandResult = { readonly ok: true; readonly sessionDbId: number } | Refusal;

export interface SessionDisposed {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly reason: DisposalReason;
  readonly at: number;
  readonly droppedItems: number;
  readonly counters: SessionCounters;
  /** What each provider cost the session (absent from disposals recorded before providers were counted). */
  readonly usageByProvider?: UsageByProvider;
}

/** Every event a session processed, as it went to the log. */
export interface SessionEventProcessed {
  readonly sessionDbId: number;
  readonly type: string;
  readonly state: string;
  readonly at: number;
}

export interface SlotGranted {
  readonly sessionDbId: number;
  readonly waitedMs: number;
}

export interface EngineEvents {
  disposed: SessionDisposed;
  processed: SessionEventProcessed;
  slotGranted: SlotGranted;
}

/** A session's durable identity and where its stream stands; kept after disposal, like the log's session row. */
export interface DurableIdentity {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly createdAt: number;
  /** The highest prompt number any incarnation of the session has seen (0: none, or only private ones). */
  readonly lastPromptNumber: number;
  readonly stream: {
    readonly status: StreamStatus;
    /** Seq of the last event recorded for the session (0 for none). */
    readonly lastSeq: number;
    /** How the last incarnation ended; null while live or never started. */
    readonly disposal: Disposal | null;
    /** What remains once the engine compacted (embedded) or forgot (Restate) the disposed stream's events. */
    readonly summary: StreamSummary | null;
  };
}

/** One recorded event, as the events route shows it. */
export interface RecordedEvent {
  readonly seq: number;
  readonly type: string;
  readonly at: number;
  readonly payload: unknown;
}

/** Everything the dashboard's session page needs from the engine. */
export interface SessionInspection {
  readonly identity: DurableIdentity;
  /** Null once disposed. */
  readonly view: SessionView | null;
  /** The live machine's context (history included); null once disposed. */
  readonly context: SessionContext | null;
  readonly timeline: {
    /** The newest entries, oldest first. */
    readonly entries: readonly TimelineEntry[];
    /** Entries the session had in all (more than `entries` when bounded). */
    readonly total: number;
    /** Recorded events that could not be read back. */
    readonly skipped: number;
  };
}

/** Agent slots: how many calls may run at once, how many do, and how many sessions wait for one. */
export interface SlotStats {
  readonly capacity: number;
  readonly inUse: number;
  readonly waiting: number;
  /** Slots handed out since the engine began. */
  readonly granted: number;
}

export interface EngineStats {
  readonly live: number;
  readonly byLifecycle: Readonly<Record<Exclude<Lifecycle, 'disposed'>, number>>;
  readonly byState: Readonly<Record<string, number>>;
  readonly slots: SlotStats;
  /** Disposals since the engine began (embedded: since this process started; Restate: since the cluster began). */
  readonly disposals: Readonly<Record<DisposalReason, number>>;
  /** Summed over every session the engine ran, live and disposed (same scope as `disposals`). */
  readonly totals: SessionCounters;
  /** The same scope, per provider: batches answered and tokens reported (input, output, cache reads and writes). */
  readonly usageByProvider: UsageByProvider;
  /** Live sessions held without an actor; null for an engine without the `dormancy` capability. */
  readonly dormant: number | null;
  /** Live sessions held at their log's state after a failed commit; null for an engine with no log of its own. */
  readonly frozen: number | null;
}

/** Whether the engine's durable log (SQLite's file, or Restate's ingress) can be written; when not, why and since when. */
export interface EngineHealth {
  readonly writable: boolean;
  readonly location: string;
  /** The failure that made it unwritable (names the cause and the file, or the ingress). */
  readonly error: string | null;
  readonly since: number | null;
  /** Writes that failed since this process started: commits, and probes while the log could not be written. */
  readonly failedWrites: number;
}

/**
 * How an engine tells listeners: `live` as it happens, `polled` a moment later (every `pollMs`), `null`
 * not at all (a listener is accepted and never called).
 */
export type EngineNotifications = { readonly [K in keyof EngineEvents]: 'live' | 'polled' | null } & { readonly pollMs: number | null };

/**
 * What an engine does beyond the contract's commands and reads. The routes, the metrics and the
 * dashboard ask these, never which engine it is.
 */
export interface EngineCapabilities {
  /**
   * Live sessions are bounded by `maxActiveSessions`: the least recently active idle one is evicted
   * (reason `capacity`), or new work is refused `at-capacity`. False where sessions live on disk (Restate).
   */
  readonly capacity: boolean;
  /** Idle sessions are shed when this process's heap passes its limit (reason `memory-pressure`). */
  readonly memoryPressure: boolean;
  /** Long-idle sessions give up their actors and are held as their last context (`stats().dormant`). */
  readonly dormancy: boolean;
  /** Every event is in a log file on this machine, which `session-lifecycle replay` reads. */
  readonly localLog: boolean;
  /** The session actors run in this process, so xstate's inspection (CLAUDE_MEM_INSPECT) can watch them. */
  readonly inspector: boolean;
  /** What commands are refused with while the engine's log cannot be written. */
  readonly unwritable: 'log-unwritable' | 'engine-unavailable';
}

/** Which engine it is, for logs and pages: never a reason to branch (ask `capabilities`). A third engine adds its name. */
export type EngineKind = 'embedded' | 'restate';

export interface EngineDescription {
  readonly kind: EngineKind;
  /** The log file (embedded) or the ingress URL (Restate). */
  readonly location: string;
  /** Whether this process alone owns the sessions (embedded: an OS lock on the log) or shares them with other workers. */
  readonly ownership: 'exclusive' | 'shared';
  /** What `start()` does, as the worker says while it waits: `recovering sessions from its log`. */
  readonly starting: string;
  /** What becomes of the live sessions when this process stops: `every live session is in the log for the next start`. */
  readonly afterStop: string;
}

/**
 * Whatever runs the sessions, as the worker's routes and the dashboard see it. Every command answers once
 * its event is durable in the engine's log (SQLite, or Restate's replicated log), or with a refusal that
 * says why nothing (or, for `engine-unavailable`, possibly nothing) was recorded.
 */
export interface SessionEngine {
  readonly description: EngineDescription;
  readonly capabilities: EngineCapabilities;
  readonly notifications: EngineNotifications;
  /**
   * Where this engine keeps the memories its sessions' replies become, or null when it keeps none: the
   * embedded engine writes them beside its log (SQLite), in the commit of each reply; on Restate the
   * service processes write them to PostgreSQL (CLAUDE_MEM_POSTGRES_URL), which this is then. With none,
   * the memory routes answer as for a worker that remembers nothing (empty context) or 501 (search,
   * browse, delete). docs/architecture.md, "Memories"; docs/scale-out.md.
   */
  readonly memories: MemoryStore | null;

  /** Recovers (embedded) or reaches (Restate) the sessions; commands wait for it. */
  start(): Promise<EngineStartReport>;
  /** Starts (or revives) a session with a user prompt, which becomes its next work item. */
  init(target: SessionTarget, request: PromptRequest): Promise<InitResult>;
  /** Queues work; a session that is not live is revived, or created for an unknown content session (unless `requirePrompt`). */
  enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult>;
  /** Activity without work: pushes the idle deadline out, revives an expiring session. */
  touch(target: SessionTarget): Promise<CommandResult>;
  /** Drains the queue, then disposes with reason `completed`. */
  complete(target: SessionTarget): Promise<CommandResult>;
  /** Disposes at once with reason `deleted` (aborting an agent call in flight). */
  delete(target: SessionTarget): Promise<CommandResult>;

  /** A live session, or undefined. */
  get(target: SessionTarget): Promise<SessionView | undefined>;
  /** Every live session. */
  list(): Promise<SessionView[]>;
  /** The durable identity of a session ever opened, live or not; undefined for an unknown one. */
  identity(target: SessionTarget): Promise<DurableIdentity | undefined>;
  /** The identity for a content session without recording any event (a private prompt): opened if new. */
  openIdentity(contentSessionId: string, project: string): Promise<DurableIdentity | Refusal>;
  /** A page of a session's recorded events, oldest first; undefined for an unknown session. */
  events(sessionDbId: number, page?: { readonly after?: number; readonly limit?: number }): Promise<RecordedEvent[] | undefined>;
  /** What the dashboard's session page shows; undefined for an unknown session. */
  inspect(sessionDbId: number): Promise<SessionInspection | undefined>;

  health(): Promise<EngineHealth>;
  stats(): Promise<EngineStats>;
  on<K extends keyof EngineEvents>(event: K, listener: (payload: EngineEvents[K]) => void): () => void;

  /** Stops taking commands. Embedded: in-flight agent calls get `drainMs`, sessions stop (not disposed), the log closes. */
  close(options?: { readonly drainMs?: number }): Promise<void>;
}

export interface EngineStartReport {
  /** Live sessions found at start (embedded: recovered from the log; Restate: live in the cluster, not counted: null). */
  readonly sessions: number | null;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly durationMs: number;
}
