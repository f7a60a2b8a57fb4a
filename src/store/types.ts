import type { StateValue } from 'xstate';
import type { Disposal, SessionContext, SessionCounters } from '../../machines/session.machine.js';
import type { EventStoreError } from './errors.js';

/** Where a session's stream stands. */
export type StreamStatus = 'live' | 'disposed' | 'compacted';

/** The durable identity of a content session, and where its stream stands. */
export interface StoredSession {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly createdAt: number;
  /** The highest prompt number any incarnation of the session has seen. */
  readonly lastPromptNumber: number;
  /** Seq of the last event appended to the stream (0 for none). */
  readonly lastSeq: number;
  /** Seq of the `xstate.init` that started the current incarnation; null before the first. */
  readonly incarnationSeq: number | null;
  readonly status: StreamStatus;
  /** How the last incarnation ended; null while live. */
  readonly disposal: Disposal | null;
  /** Kept when the stream was compacted. */
  readonly summary: StreamSummary | null;
}

/** What remains of a compacted stream. */
export interface StreamSummary {
  readonly createdAt: number;
  readonly disposedAt: number;
  readonly reason: Disposal['reason'];
  readonly droppedItems: number;
  readonly events: number;
  readonly processed: number;
  readonly failed: number;
  readonly compactedAt: number;
}

/** One event as a session actor processed it. */
export interface EventRecord {
  readonly type: string;
  /** The event object itself, JSON-serialisable. */
  readonly payload: unknown;
  /** The registry clock's time when it was processed. */
  readonly at: number;
  /**
   * The client's key for the work this event queued (a hook's tool_use_id), kept indexed so a retry is
   * recognised over the session's whole life (see `hasWorkKey`).
   */
  readonly workKey?: string;
}

export interface LoggedEvent extends EventRecord {
  readonly sessionDbId: number;
  readonly seq: number;
}

/** An event as a projection receives it: logged, with the identity of its session. */
export interface ProjectedEvent extends LoggedEvent {
  readonly session: Pick<StoredSession, 'contentSessionId' | 'project'>;
}

/**
 * State derived from the log and kept in the log's own file (memories), written in the same transaction
 * as the events it derives from: committed with them, or dropped with them when that commit fails.
 */
export interface LogProjection {
  /** The event types it derives from. */
  readonly eventTypes: ReadonlySet<string>;
  /**
   * Runs inside every commit that writes events, after they are written: `events` are those of its
   * types (maybe none), `lastEventId` the log's position after the commit (see `eventsSince`). What it
   * throws fails the whole commit.
   */
  apply(events: readonly ProjectedEvent[], lastEventId: number): void;
}

/** A session's state after the event `seq`, so recovery replays only what came after it. */
export interface SnapshotRecord {
  readonly seq: number;
  readonly value: StateValue;
  readonly context: SessionContext;
  readonly at: number;
}

/** Counts kept at disposal for the summary a compacted stream leaves behind. */
export type DisposalCounts = Pick<SessionCounters, 'processed' | 'failed'>;

export interface CompactionReport {
  readonly compacted: number;
  readonly eventsRemoved: number;
}

/** A commit that failed, and the sessions whose buffered events, snapshots or identity changes it dropped. */
export interface CommitFailure {
  readonly error: EventStoreError;
  readonly sessions: readonly number[];
}

export interface StoreStats {
  readonly sessions: number;
  readonly liveStreams: number;
  readonly events: number;
  readonly snapshots: number;
  /** Bytes on disk (database and write-ahead log), for file stores. */
  readonly fileBytes?: number;
}

/**
 * Session identities and the append-only event log: the registry's source of truth across restarts.
 *
 * Writes may be buffered; `flush` resolves once everything appended before it is durable. The registry
 * awaits `flush` before it acknowledges anything, which is what makes an acknowledged event survive
 * `kill -9`.
 */
export interface EventStore {
  /** Where the log lives, for messages: a file path, or `memory`. */
  readonly location: string;
  /** Finds the session of `contentSessionId`, or creates it. */
  openSession(contentSessionId: string, project: string, at: number): StoredSession;
  getSession(sessionDbId: number): StoredSession | undefined;
  findSession(contentSessionId: string): StoredSession | undefined;
  /** Appends to the session's stream; returns the event's seq. */
  append(sessionDbId: number, event: EventRecord): number;
  /** Keeps the session's latest snapshot (older ones are superseded). */
  saveSnapshot(sessionDbId: number, snapshot: SnapshotRecord): void;
  /** The session's actor reached `disposed`; its stream may be compacted after the retention period. */
  sessionDisposed(sessionDbId: number, disposal: Disposal, counts: DisposalCounts): void;
  /**
   * Resolves once everything appended before it is committed. Rejects with an EventStoreError
   * (`write-failed`) when that commit failed: then everything it held is dropped, never retried, and
   * the failure listeners hear which sessions it touched.
   */
  flush(): Promise<void>;
  /** Whether `key` was already logged as work of this session (committed, or buffered for this commit). */
  hasWorkKey(sessionDbId: number, key: string): boolean;
  /** Hears of every failed commit. The log then holds exactly what committed before it. */
  onCommitFailure(listener: (failure: CommitFailure) => void): () => void;
  /** Commits a tiny write at once, to tell whether the log can be written again; throws `write-failed` if not. */
  probeWrite(): void;

  /** A stream's events in order (no snapshots); `afterSeq` and `limit` page through it. */
  readEvents(sessionDbId: number, page?: { readonly afterSeq?: number; readonly limit?: number }): LoggedEvent[];
  latestSnapshot(sessionDbId: number): SnapshotRecord | undefined;
  /** Sessions whose stream was not disposed when the last process stopped. */
  liveSessions(): StoredSession[];
  /** Compacts every stream disposed at or before `disposedBefore` to its summary. */
  compact(disposedBefore: number, now: number): CompactionReport;
  stats(): StoreStats;
  close(): void;
}
