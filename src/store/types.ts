import type { Disposal } from '../../machines/session.machine.js';

/** The durable identity of a content session, and how its last incarnation ended. */
export interface StoredSession {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly createdAt: number;
  /** The highest prompt number any incarnation of the session has seen. */
  readonly lastPromptNumber: number;
  /** Null while the session is live (or was live when the process stopped). */
  readonly disposal: Disposal | null;
}

/** One event as a session actor processed it. */
export interface EventRecord {
  readonly type: string;
  /** The event object itself, JSON-serialisable. */
  readonly payload: unknown;
  /** The registry clock's time when it was processed. */
  readonly at: number;
}

/**
 * Where the registry keeps session identities and the append-only event log.
 *
 * `append` may buffer; `flush` resolves once everything appended before it is durable. The registry
 * awaits `flush` before it acknowledges anything, which is what makes an acknowledged event survive
 * `kill -9`.
 */
export interface EventStore {
  /** Finds the session of `contentSessionId`, or creates it. A disposed session is reopened. */
  openSession(contentSessionId: string, project: string, at: number): StoredSession;
  getSession(sessionDbId: number): StoredSession | undefined;
  append(sessionDbId: number, event: EventRecord): void;
  /** The session's actor reached `disposed`; its stream may be compacted after the retention period. */
  sessionDisposed(sessionDbId: number, disposal: Disposal): void;
  flush(): Promise<void>;
}
