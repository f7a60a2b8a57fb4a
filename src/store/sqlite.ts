/**
 * Owns the SQLite event log's reads and writes: session identities, appends buffered and committed
 * together once per event-loop turn (group commit), snapshots, compaction of disposed streams.
 * A failed commit drops what it held and says so (`onCommitFailure`): the log then holds exactly what
 * committed, and nothing is written later behind anyone's back.
 * May not: open or migrate the file (sqlite-file.ts), or decide who owns it (ownership.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { writeFailure } from './errors.js';
import { GroupCommit } from './group-commit.js';
import { acquireOwnership, type Ownership } from './ownership.js';
import { ensureDirectory, openDatabase, type SqliteStoreOptions } from './sqlite-file.js';
import {
  type EventRow,
  parsePayload,
  readStatements,
  type SessionRow,
  type SnapshotRow,
  toSession,
  writeStatements,
} from './sqlite-statements.js';
import { afterAppend, afterDisposal, newSession, summaryOf } from './stream.js';
import type {
  CommitFailure,
  CompactionReport,
  DisposalCounts,
  EventRecord,
  EventStore,
  LoggedEvent,
  LogProjection,
  ProjectedEvent,
  SnapshotRecord,
  StoredSession,
} from './types.js';

export { UNPARSEABLE } from './sqlite-statements.js';

/** The SQLite store: an EventStore, and the ownership of its file. */
export interface SqliteEventStore extends EventStore {
  /** This process's hold on the log; null when opened read-only. */
  readonly ownership: Ownership | null;
  /**
   * The connection, for what keeps its own tables in the log's file (the memories): their schema and
   * reads. Their writes go through `project`, inside the log's commits, or in transactions of their own.
   */
  readonly database: Database.Database;
  /** Adds a projection, written in every commit from now on; returns its removal. */
  project(projection: LogProjection): () => void;
  /**
   * The events after position `afterId` (a projection's `lastEventId`) in the order they were logged,
   * with their session's identity: what a projection catches up from. Compacted streams have none.
   */
  eventsSince(afterId: number, limit: number): (ProjectedEvent & { readonly id: number })[];
}

interface Cached {
  session: StoredSession;
  counts: DisposalCounts;
}

/**
 * Opens (or creates) the event log at `path`: takes ownership of it first (one writer per log; a
 * second gets an EventStoreError `locked` naming the owner), then WAL, a schema versioned by
 * `user_version`, incremental vacuum so that compaction gives space back. Throws an
 * {@link EventStoreError} that names the file and says what to do when the file is not ours, is
 * damaged, or was written by a newer version. `readOnly` opens without ownership, for readers.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteEventStore {
  const location = resolve(path);
  if (!options.readOnly) ensureDirectory(location);
  // The schema is created inside the ownership, so two simultaneous starts never race on it.
  const ownership = options.readOnly ? null : acquireOwnership(location, options.owner);
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(location, options);
  } catch (error) {
    ownership?.release();
    throw error;
  }
  const reads = readStatements(db);
  const writes = options.readOnly ? undefined : writeStatements(db);
  const writable = () => {
    if (writes === undefined) throw new Error(`${location} was opened read-only`);
    return writes;
  };

  /**
   * A row's last_seq is written only when the row changes for another reason (a new incarnation, a new
   * prompt number, a disposal, a compaction): appending an event does not rewrite its session's row.
   * The stream itself knows its last seq.
   */
  const withLastSeq = (session: StoredSession): StoredSession => {
    const logged = reads.maxSeq.get(session.sessionDbId)?.seq ?? 0;
    return logged > session.lastSeq ? { ...session, lastSeq: logged } : session;
  };
  const fromRow = (row: SessionRow): StoredSession => cache.get(row.session_db_id)?.session ?? withLastSeq(toSession(row));

  /** Identity rows of streams with writes in this process; the others are read on demand. */
  const cache = new Map<number, Cached>();
  let pendingEvents: EventRow[] = [];
  /** `sessionDbId:key` of the work keys in pendingEvents. */
  const pendingKeys = new Set<string>();
  const pendingSnapshots = new Map<number, SnapshotRow>();
  /** The events of pendingEvents that a projection derives from. */
  let pendingProjected: ProjectedEvent[] = [];
  const projections = new Set<LogProjection>();
  const dirty = new Set<number>();
  const failureListeners = new Set<(failure: CommitFailure) => void>();
  let closed = false;

  const hasPending = () => pendingEvents.length > 0 || pendingSnapshots.size > 0 || dirty.size > 0;

  const cached = (sessionDbId: number): Cached => {
    let entry = cache.get(sessionDbId);
    if (entry === undefined) {
      const row = reads.sessionById.get(sessionDbId);
      if (row === undefined) throw new Error(`${location}: no session ${sessionDbId}`);
      entry = { session: withLastSeq(toSession(row)), counts: { processed: row.processed, failed: row.failed } };
      cache.set(sessionDbId, entry);
    }
    return entry;
  };

  const writePending = db.transaction(() => {
    const statements = writable();
    let lastEventId = 0;
    for (const row of pendingEvents) lastEventId = Number(statements.insertEvent.run(...row).lastInsertRowid);
    if (lastEventId > 0) {
      for (const projection of projections) {
        projection.apply(
          pendingProjected.filter((event) => projection.eventTypes.has(event.type)),
          lastEventId,
        );
      }
    }
    for (const row of pendingSnapshots.values()) statements.upsertSnapshot.run(...row);
    for (const sessionDbId of dirty) {
      const { session, counts } = cache.get(sessionDbId)!;
      statements.updateSession.run({
        sessionDbId,
        lastPromptNumber: session.lastPromptNumber,
        lastSeq: session.lastSeq,
        incarnationSeq: session.incarnationSeq,
        status: session.status,
        disposedAt: session.disposal?.at ?? null,
        disposal: session.disposal === null ? null : JSON.stringify(session.disposal),
        processed: counts.processed,
        failed: counts.failed,
      });
    }
  });

  const clearPending = () => {
    pendingEvents = [];
    pendingProjected = [];
    pendingKeys.clear();
    pendingSnapshots.clear();
    dirty.clear();
  };

  /** Tells the listeners; their failure must not hide the store's. */
  const report = (failure: CommitFailure) => {
    for (const listener of failureListeners) {
      try {
        listener(failure);
      } catch {
        // A listener's own bug; the failure itself is still thrown to the caller.
      }
    }
  };

  /** A write that does not go through the buffer (a new identity, compaction, the probe). */
  const direct = <T>(write: () => T): T => {
    try {
      options.beforeCommit?.();
      return write();
    } catch (error) {
      const failure = writeFailure(location, error);
      report({ error: failure, sessions: [] });
      throw failure;
    }
  };

  const groupCommit = new GroupCommit(() => {
    if (closed) throw new Error(`${location}: the event log is closed`);
    try {
      options.beforeCommit?.();
      writePending();
    } catch (error) {
      // Dropped, not kept for a later try: the sessions it touched are put back to what the log holds
      // by whoever listens, and identities are read from the file again.
      const failure = writeFailure(location, error);
      const sessions = [...new Set([...pendingEvents.map((row) => row[0]), ...pendingSnapshots.keys(), ...dirty])];
      clearPending();
      for (const sessionDbId of sessions) cache.delete(sessionDbId);
      report({ error: failure, sessions });
      throw failure;
    }
    for (const sessionDbId of dirty) if (cache.get(sessionDbId)!.session.status !== 'live') cache.delete(sessionDbId);
    clearPending();
  }, hasPending);

  return {
    location,
    ownership,
    database: db,
    project(projection) {
      projections.add(projection);
      return () => projections.delete(projection);
    },
    eventsSince(afterId, limit) {
      groupCommit.commitNow();
      return reads.eventsSince.all(afterId, limit).map((row) => ({
        id: row.id,
        sessionDbId: row.session_db_id,
        seq: row.seq,
        type: row.type,
        payload: parsePayload(row.payload),
        at: row.at,
        session: { contentSessionId: row.content_session_id, project: row.project },
      }));
    },
    openSession(contentSessionId, project, at) {
      const row = reads.sessionByContentId.get(contentSessionId);
      if (row !== undefined) return fromRow(row);
      const { lastInsertRowid } = direct(() => writable().insertSession.run(contentSessionId, project, at));
      return newSession(Number(lastInsertRowid), contentSessionId, project, at);
    },
    getSession(sessionDbId) {
      // A session with events still buffered is in the cache; any other row is up to date on disk.
      const entry = cache.get(sessionDbId);
      if (entry) return entry.session;
      const row = reads.sessionById.get(sessionDbId);
      return row === undefined ? undefined : withLastSeq(toSession(row));
    },
    findSession(contentSessionId) {
      const row = reads.sessionByContentId.get(contentSessionId);
      return row === undefined ? undefined : fromRow(row);
    },
    append(sessionDbId, event: EventRecord) {
      const entry = cached(sessionDbId);
      const seq = entry.session.lastSeq + 1;
      pendingEvents.push([sessionDbId, seq, event.type, JSON.stringify(event.payload), event.at, event.workKey ?? null]);
      if (event.workKey !== undefined) pendingKeys.add(`${sessionDbId}:${event.workKey}`);
      const before = entry.session;
      for (const projection of projections) {
        if (!projection.eventTypes.has(event.type)) continue;
        const { contentSessionId, project } = before;
        pendingProjected.push({
          sessionDbId,
          seq,
          type: event.type,
          payload: event.payload,
          at: event.at,
          session: { contentSessionId, project },
        });
        break;
      }
      entry.session = afterAppend(before, seq, event);
      if (before.incarnationSeq !== entry.session.incarnationSeq || before.lastPromptNumber !== entry.session.lastPromptNumber) {
        dirty.add(sessionDbId);
      }
      groupCommit.schedule();
      return seq;
    },
    saveSnapshot(sessionDbId, snapshot: SnapshotRecord) {
      const state = JSON.stringify({ value: snapshot.value, context: snapshot.context });
      pendingSnapshots.set(sessionDbId, [sessionDbId, snapshot.seq, state, snapshot.at]);
      groupCommit.schedule();
    },
    sessionDisposed(sessionDbId, disposal, counts) {
      const entry = cached(sessionDbId);
      entry.session = afterDisposal(entry.session, disposal);
      entry.counts = counts;
      dirty.add(sessionDbId);
      groupCommit.schedule();
    },
    flush: () => groupCommit.flush(),
    hasWorkKey(sessionDbId, key) {
      return pendingKeys.has(`${sessionDbId}:${key}`) || reads.workKey.get(sessionDbId, key) !== undefined;
    },
    onCommitFailure(listener) {
      failureListeners.add(listener);
      return () => failureListeners.delete(listener);
    },
    probeWrite() {
      // A full disk is often a full write-ahead log: moving it into the file and truncating it gives the
      // space of every superseded page back. It may fail for want of space too; the write below says.
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // The probe write's own failure is the answer.
      }
      direct(() => writable().probe.run(Date.now()));
    },
    readEvents(sessionDbId, page = {}) {
      const after = page.afterSeq ?? 0;
      const limit = page.limit ?? Infinity;
      const committed = reads.events
        .all(sessionDbId, after, Number.isFinite(limit) ? limit : -1)
        .map((row): LoggedEvent => ({ sessionDbId, seq: row.seq, type: row.type, payload: parsePayload(row.payload), at: row.at }));
      // What this turn buffered follows what committed (its seqs are higher); a read never commits.
      for (const [id, seq, type, payload, at] of pendingEvents) {
        if (committed.length >= limit) break;
        if (id === sessionDbId && seq > after) committed.push({ sessionDbId, seq, type, payload: parsePayload(payload), at });
      }
      return committed;
    },
    latestSnapshot(sessionDbId) {
      const pending = pendingSnapshots.get(sessionDbId);
      const row = pending === undefined ? reads.snapshot.get(sessionDbId) : { seq: pending[1], state: pending[2], at: pending[3] };
      if (row === undefined) return undefined;
      const state = parsePayload(row.state) as Pick<SnapshotRecord, 'value' | 'context'>;
      if (typeof state !== 'object' || state === null || !('context' in state)) return undefined;
      return { seq: row.seq, value: state.value, context: state.context, at: row.at };
    },
    liveSessions() {
      groupCommit.commitNow();
      return reads.liveSessions.all().map(fromRow);
    },
    compact(disposedBefore, now): CompactionReport {
      groupCommit.commitNow();
      const statements = writable();
      let compacted = 0;
      let eventsRemoved = 0;
      direct(() =>
        db.transaction(() => {
          for (const row of statements.disposedBefore.all(disposedBefore)) {
            const session = withLastSeq(toSession(row));
            statements.setLastSeq.run(session.lastSeq, row.session_db_id);
            const removed = statements.deleteEvents.run(row.session_db_id).changes;
            statements.deleteSnapshot.run(row.session_db_id);
            const summary = summaryOf(session, { processed: row.processed, failed: row.failed }, removed, now);
            statements.markCompacted.run(JSON.stringify(summary), row.session_db_id);
            cache.delete(row.session_db_id);
            compacted++;
            eventsRemoved += removed;
          }
        })(),
      );
      if (compacted > 0) {
        // Give the freed pages back to the file system, and the write-ahead log too.
        db.pragma('incremental_vacuum');
        db.pragma('wal_checkpoint(TRUNCATE)');
      }
      return { compacted, eventsRemoved };
    },
    stats() {
      groupCommit.commitNow();
      const { sessions, live } = reads.counts.get()!;
      return {
        sessions,
        liveStreams: live,
        events: reads.eventCount.get()!.n,
        snapshots: reads.snapshotCount.get()!.n,
        fileBytes: fileSize(location) + fileSize(`${location}-wal`),
      };
    },
    close() {
      if (closed) return;
      try {
        if (writes !== undefined) groupCommit.commitNow();
      } finally {
        closed = true;
        db.close();
        ownership?.release();
      }
    },
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
