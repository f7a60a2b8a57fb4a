/**
 * The session engine's vocabulary: what the worker's routes and the dashboard may ask of whatever runs
 * the sessions (the embedded registry with its SQLite log, or a Restate cluster), and what they get back.
 * Types only; the engines live in the files beside it.
 */
import type { Disposal, DisposalReason, Lifecycle, SessionContext, SessionCounters } from '../../machines/session.machine.js';
import type { MemoryStore } from '../memories/index.js';
import type {
  CommandResult,
  EnqueueResult,
  InitResult,
  LogHealth,
  PromptRequest,
  Refusal,
  SessionDisposed,
  SessionEventProcessed,
  SessionTarget,
  SlotGranted,
  WorkRequest,
} from '../registry/index.js';
import type { TimelineEntry } from '../replay/index.js';
import type { SessionView, UsageByProvider } from '../session/index.js';
import type { StreamStatus, StreamSummary } from '../store/index.js';

export type EngineKind = 'embedded' | 'restate';

/**
 * What an engine refuses beyond the registry's own refusals:
 * - `engine-unavailable`: the engine could not be reached in time (Restate down or partitioned). The
 *   request was not acknowledged; retried calls inside the engine carried one idempotency key, so it
 *   was applied at most once, but it may have been applied.
 * - `not-prompted`: `requirePrompt` work for a session that never had a public prompt; nothing recorded.
 */
export type EngineRefusal =
  | { readonly ok: false; readonly error: 'engine-unavailable'; readonly message: string; readonly retryAfterMs: number }
  | { readonly ok: false; readonly error: 'not-prompted' };

export interface EngineWorkRequest extends WorkRequest {
  /**
   * Refuse (`not-prompted`) unless the session has had a public prompt: claude-mem's privacy rule,
   * checked by the engine in the same step as the enqueue (on Restate, inside the session's own handler).
   */
  readonly requirePrompt?: boolean;
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

export interface EngineStats {
  readonly live: number;
  readonly byLifecycle: Readonly<Record<Exclude<Lifecycle, 'disposed'>, number>>;
  readonly byState: Readonly<Record<string, number>>;
  readonly slots: { readonly capacity: number; readonly inUse: number; readonly waiting: number; readonly granted: number };
  /** Disposals since the engine began (embedded: since this process started; Restate: since the cluster began). */
  readonly disposals: Readonly<Record<DisposalReason, number>>;
  /** Summed over every session the engine ran, live and disposed (same scope as `disposals`). */
  readonly totals: SessionCounters;
  /** The same scope, per provider: batches answered and tokens reported (input, output, cache reads and writes). */
  readonly usageByProvider: UsageByProvider;
  /** Embedded only (null on Restate, which has neither): dormant and frozen live sessions. */
  readonly dormant: number | null;
  readonly frozen: number | null;
}

/** Health of the engine's durable log: SQLite's file, or Restate's ingress. */
export type EngineHealth = LogHealth;

export interface EngineEvents {
  disposed: SessionDisposed;
  processed: SessionEventProcessed;
  slotGranted: SlotGranted;
}

/**
 * How an engine tells listeners: `live` as it happens, `polled` a moment later (the Restate engine asks
 * the cluster every `pollMs`), `null` not at all (a listener is accepted and never called).
 */
export type EngineNotifications = { readonly [K in keyof EngineEvents]: 'live' | 'polled' | null } & { readonly pollMs: number | null };

export interface EngineDescription {
  readonly kind: EngineKind;
  /** The log file (embedded) or the ingress URL (Restate). */
  readonly location: string;
  /** Whether this process alone owns the sessions (embedded: an OS lock on the log) or shares them with other workers. */
  readonly ownership: 'exclusive' | 'shared';
}

/**
 * Whatever runs the sessions, as the worker's routes and the dashboard see it. Every command answers once
 * its event is durable in the engine's log (SQLite, or Restate's replicated log), or with a refusal that
 * says why nothing (or, for `engine-unavailable`, possibly nothing) was recorded.
 */
export interface SessionEngine {
  readonly description: EngineDescription;
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
  init(target: SessionTarget, request: PromptRequest): Promise<InitResult | EngineRefusal>;
  /** Queues work; a session that is not live is revived, or created for an unknown content session. */
  enqueue(target: SessionTarget, work: EngineWorkRequest): Promise<EnqueueResult | EngineRefusal>;
  touch(target: SessionTarget): Promise<CommandResult | EngineRefusal>;
  /** Drains the queue, then disposes with reason `completed`. */
  complete(target: SessionTarget): Promise<CommandResult | EngineRefusal>;
  /** Disposes at once with reason `deleted` (aborting an agent call in flight). */
  delete(target: SessionTarget): Promise<CommandResult | EngineRefusal>;

  /** A live session, or undefined. */
  get(target: SessionTarget): Promise<SessionView | undefined>;
  /** Every live session. */
  list(): Promise<SessionView[]>;
  /** The durable identity of a session ever opened, live or not; undefined for an unknown one. */
  identity(target: SessionTarget): Promise<DurableIdentity | undefined>;
  /** The identity for a content session without recording any event (a private prompt): opened if new. */
  openIdentity(contentSessionId: string, project: string): Promise<DurableIdentity | Refusal | EngineRefusal>;
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
