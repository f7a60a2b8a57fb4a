/**
 * Owns the SQLite event log's reads and writes: session identities, appends buffered and committed
 * together once per event-loop turn (group commit), snapshots, compaction of disposed streams.
 * May not: open or migrate the file (sqlite-file.ts).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Disposal } from '../../machines/session.machine.js';
import { openDatabase, type SqliteStoreOptions } from './sqlite-file.js';
import { afterAppend, afterDisposal, newSession, summaryOf } from './stream.js';
import type {
  CompactionReport,
  DisposalCounts,
  EventRecord,
  EventStore,
  LoggedEvent,
  SnapshotRecord,
  StoredSession,
  StreamSummary,
} from './types.js';

interface SessionRow {
  session_db_id: number;
  content_session_id: string;
  project: string;
  created_at: number;
  last_prompt_number: number;
  last_seq: number;
  incarnation_seq: number | null;
  status: StoredSession['status'];
  disposal: string | null;
  processed: number;
  failed: number;
  summary: string | null;
}

interface Cached {
  session: StoredSession;
  counts: DisposalCounts;
}

function toSession(row: SessionRow): StoredSession {
  return {
    sessionDbId: row.session_db_id,
    contentSessionId: row.content_session_id,
    project: row.project,
    createdAt: row.created_at,
    lastPromptNumber: row.last_prompt_number,
    lastSeq: row.last_seq,
    incarnationSeq: row.incarnation_seq,
    status: row.status,
    disposal: row.disposal === null ? null : (JSON.parse(row.disposal) as Disposal),
    summary: row.summary === null ? null : (JSON.parse(row.summary) as StreamSummary),
  };
}

const realSetImmediate = globalThis.setImmediate;

/** Marks a payload the log could not parse; replay skips such events with a warning. */
export const UNPARSEABLE = '@unparseable';

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { [UNPARSEABLE]: text.slice(0, 200) };
  }
}

/**
 * Opens (or creates) the event log at `path`: WAL, a schema versioned by `user_version`, incremental
 * vacuum so that compaction gives space back. Throws an {@link EventStoreError} that names the file and
 * says what to do when the file is not ours, is damaged, or was written by a newer version.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): EventStore {
  const location = resolve(path);
  const db = openDatabase(location, options);

  const statements = {
    sessionById: db.prepare<[number], SessionRow>('SELECT * FROM sessions WHERE session_db_id = ?'),
    sessionByContentId: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE content_session_id = ?'),
    insertSession: db.prepare<[string, string, number]>('INSERT INTO sessions (content_session_id, project, created_at) VALUES (?, ?, ?)'),
    liveSessions: db.prepare<[], SessionRow>("SELECT * FROM sessions WHERE status = 'live' ORDER BY session_db_id"),
    insertEvent: db.prepare<[number, number, string, string, number]>(
      'INSERT INTO events (session_db_id, seq, type, payload, at) VALUES (?, ?, ?, ?, ?)',
    ),
    upsertSnapshot: db.prepare<[number, number, string, number]>(
      `INSERT INTO snapshots (session_db_id, seq, state, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (session_db_id) DO UPDATE SET seq = excluded.seq, state = excluded.state, at = excluded.at`,
    ),
    updateSession: db.prepare(
      `UPDATE sessions SET last_prompt_number = @lastPromptNumber, last_seq = @lastSeq,
         incarnation_seq = @incarnationSeq, status = @status, disposed_at = @disposedAt, disposal = @disposal,
         processed = @processed, failed = @failed
       WHERE session_db_id = @sessionDbId`,
    ),
    events: db.prepare<[number, number, number], { seq: number; type: string; payload: string; at: number }>(
      'SELECT seq, type, payload, at FROM events WHERE session_db_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    maxSeq: db.prepare<[number], { seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE session_db_id = ?'),
    snapshot: db.prepare<[number], { seq: number; state: string; at: number }>(
      'SELECT seq, state, at FROM snapshots WHERE session_db_id = ?',
    ),
    disposedBefore: db.prepare<[number], SessionRow>(
      "SELECT * FROM sessions WHERE status = 'disposed' AND disposed_at <= ? ORDER BY session_db_id",
    ),
    deleteEvents: db.prepare<[number]>('DELETE FROM events WHERE session_db_id = ?'),
    deleteSnapshot: db.prepare<[number]>('DELETE FROM snapshots WHERE session_db_id = ?'),
    setLastSeq: db.prepare<[number, number]>('UPDATE sessions SET last_seq = ? WHERE session_db_id = ?'),
    markCompacted: db.prepare<[string, number]>("UPDATE sessions SET status = 'compacted', summary = ? WHERE session_db_id = ?"),
    counts: db.prepare<[], { sessions: number; live: number }>(
      "SELECT count(*) AS sessions, coalesce(sum(status = 'live'), 0) AS live FROM sessions",
    ),
    eventCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events'),
    snapshotCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM snapshots'),
  };

  /**
   * A row's last_seq is written only when the row changes for another reason (a new incarnation, a new
   * prompt number, a disposal, a compaction): appending an event does not rewrite its session's row.
   * The stream itself knows its last seq.
   */
  const withLastSeq = (session: StoredSession): StoredSession => {
    const logged = statements.maxSeq.get(session.sessionDbId)?.seq ?? 0;
    return logged > session.lastSeq ? { ...session, lastSeq: logged } : session;
  };

  /** Identity rows of streams this process has written to; the others are read on demand. */
  const cache = new Map<number, Cached>();
  let pendingEvents: [number, number, string, string, number][] = [];
  const pendingSnapshots = new Map<number, [number, number, string, number]>();
  const dirty = new Set<number>();
  let flushScheduled = false;
  let closed = false;

  const cached = (sessionDbId: number): Cached => {
    let entry = cache.get(sessionDbId);
    if (entry === undefined) {
      const row = statements.sessionById.get(sessionDbId);
      if (row === undefined) throw new Error(`${location}: no session ${sessionDbId}`);
      entry = { session: withLastSeq(toSession(row)), counts: { processed: row.processed, failed: row.failed } };
      cache.set(sessionDbId, entry);
    }
    return entry;
  };

  const writePending = db.transaction(() => {
    for (const row of pendingEvents) statements.insertEvent.run(...row);
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

  /** Commits everything buffered in one transaction; on failure the buffer is kept for the next try. */
  const flushNow = () => {
    if (pendingEvents.length === 0 && pendingSnapshots.size === 0 && dirty.size === 0) return;
    if (closed) throw new Error(`${location}: the event log is closed`);
    writePending();
    pendingEvents = [];
    pendingSnapshots.clear();
    for (const sessionDbId of dirty) if (cache.get(sessionDbId)!.session.status !== 'live') cache.delete(sessionDbId);
    dirty.clear();
  };

  // Group commit: everything appended during one turn of the event loop (all the requests that arrived
  // together, the timer events and agent replies between them) is committed in one transaction, and
  // every flush() of that turn resolves after it. The real setImmediate, captured at load, so that a
  // test's fake timers cannot hold back durability.
  let waiting: { resolve(): void; reject(error: unknown): void }[] = [];
  const commitTurn = () => {
    flushScheduled = false;
    const waiters = waiting;
    waiting = [];
    try {
      flushNow();
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      // Kept in the buffer: the next flush retries; whoever awaited this one hears of it.
      for (const waiter of waiters) waiter.reject(error);
    }
  };
  const scheduleFlush = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    realSetImmediate(commitTurn);
  };

  return {
    location,
    openSession(contentSessionId, project, at) {
      const row = statements.sessionByContentId.get(contentSessionId);
      if (row !== undefined) return cache.get(row.session_db_id)?.session ?? withLastSeq(toSession(row));
      const { lastInsertRowid } = statements.insertSession.run(contentSessionId, project, at);
      return newSession(Number(lastInsertRowid), contentSessionId, project, at);
    },
    getSession(sessionDbId) {
      // A session with events still buffered is in the cache; any other row is up to date on disk.
      const entry = cache.get(sessionDbId);
      if (entry) return entry.session;
      const row = statements.sessionById.get(sessionDbId);
      return row === undefined ? undefined : withLastSeq(toSession(row));
    },
    findSession(contentSessionId) {
      const row = statements.sessionByContentId.get(contentSessionId);
      if (row === undefined) return undefined;
      return cache.get(row.session_db_id)?.session ?? withLastSeq(toSession(row));
    },
    append(sessionDbId, event: EventRecord) {
      const entry = cached(sessionDbId);
      const seq = entry.session.lastSeq + 1;
      pendingEvents.push([sessionDbId, seq, event.type, JSON.stringify(event.payload), event.at]);
      const before = entry.session;
      entry.session = afterAppend(before, seq, event);
      if (before.incarnationSeq !== entry.session.incarnationSeq || before.lastPromptNumber !== entry.session.lastPromptNumber)
        dirty.add(sessionDbId);
      scheduleFlush();
      return seq;
    },
    saveSnapshot(sessionDbId, snapshot: SnapshotRecord) {
      const state = JSON.stringify({ value: snapshot.value, context: snapshot.context });
      pendingSnapshots.set(sessionDbId, [sessionDbId, snapshot.seq, state, snapshot.at]);
      scheduleFlush();
    },
    sessionDisposed(sessionDbId, disposal, counts) {
      const entry = cached(sessionDbId);
      entry.session = afterDisposal(entry.session, disposal);
      entry.counts = counts;
      dirty.add(sessionDbId);
      scheduleFlush();
    },
    flush() {
      if (pendingEvents.length === 0 && pendingSnapshots.size === 0 && dirty.size === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
        scheduleFlush();
      });
    },
    readEvents(sessionDbId, page = {}) {
      flushNow();
      return statements.events
        .all(sessionDbId, page.afterSeq ?? 0, page.limit ?? -1)
        .map((row): LoggedEvent => ({ sessionDbId, seq: row.seq, type: row.type, payload: parsePayload(row.payload), at: row.at }));
    },
    latestSnapshot(sessionDbId) {
      flushNow();
      const row = statements.snapshot.get(sessionDbId);
      if (row === undefined) return undefined;
      const state = parsePayload(row.state) as Pick<SnapshotRecord, 'value' | 'context'>;
      if (typeof state !== 'object' || state === null || !('context' in state)) return undefined;
      return { seq: row.seq, value: state.value, context: state.context, at: row.at };
    },
    liveSessions() {
      flushNow();
      return statements.liveSessions.all().map((row) => cache.get(row.session_db_id)?.session ?? withLastSeq(toSession(row)));
    },
    compact(disposedBefore, now): CompactionReport {
      flushNow();
      let compacted = 0;
      let eventsRemoved = 0;
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
      })();
      if (compacted > 0) {
        // Give the freed pages back to the file system, and the write-ahead log too.
        db.pragma('incremental_vacuum');
        db.pragma('wal_checkpoint(TRUNCATE)');
      }
      return { compacted, eventsRemoved };
    },
    stats() {
      flushNow();
      const { sessions, live } = statements.counts.get()!;
      return {
        sessions,
        liveStreams: live,
        events: statements.eventCount.get()!.n,
        snapshots: statements.snapshotCount.get()!.n,
        fileBytes: fileSize(location) + fileSize(`${location}-wal`),
      };
    },
    close() {
      if (closed) return;
      try {
        commitTurn();
      } finally {
        closed = true;
        db.close();
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
