/**
 * Owns the SQL: every statement the SQLite store runs, and how a row becomes a StoredSession.
 * May not: decide when anything is written (sqlite.ts buffers and commits).
 */
import type Database from 'better-sqlite3';
import type { Disposal } from '../../machines/session.machine.js';
import type { StoredSession, StreamSummary } from './types.js';

export interface SessionRow {
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

/** An event row waiting for its commit: session_db_id, seq, type, payload, at, work_key. */
export type EventRow = [number, number, string, string, number, string | null];
/** A snapshot row waiting for its commit: session_db_id, seq, state, at. */
export type SnapshotRow = [number, number, string, number];

export function toSession(row: SessionRow): StoredSession {
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

/** Marks a payload the log could not parse; replay skips such events with a warning. */
export const UNPARSEABLE = '@unparseable';

export function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { [UNPARSEABLE]: text.slice(0, 200) };
  }
}

type Statement<Parameters extends unknown[], Row = unknown> = Database.Statement<Parameters, Row>;

export interface ReadStatements {
  readonly sessionById: Statement<[number], SessionRow>;
  readonly sessionByContentId: Statement<[string], SessionRow>;
  readonly liveSessions: Statement<[], SessionRow>;
  readonly events: Statement<[number, number, number], { seq: number; type: string; payload: string; at: number }>;
  readonly maxSeq: Statement<[number], { seq: number | null }>;
  readonly snapshot: Statement<[number], { seq: number; state: string; at: number }>;
  readonly workKey: Statement<[number, string], { found: number }>;
  readonly counts: Statement<[], { sessions: number; live: number }>;
  readonly eventCount: Statement<[], { n: number }>;
  readonly snapshotCount: Statement<[], { n: number }>;
  readonly eventsSince: Statement<
    [number, number],
    {
      id: number;
      session_db_id: number;
      seq: number;
      type: string;
      payload: string;
      at: number;
      content_session_id: string;
      project: string;
    }
  >;
}

export interface WriteStatements {
  readonly insertSession: Statement<[string, string, number]>;
  readonly insertEvent: Statement<EventRow>;
  readonly upsertSnapshot: Statement<SnapshotRow>;
  readonly updateSession: Statement<[Record<string, unknown>]>;
  readonly disposedBefore: Statement<[number], SessionRow>;
  readonly deleteEvents: Statement<[number]>;
  readonly deleteSnapshot: Statement<[number]>;
  readonly setLastSeq: Statement<[number, number]>;
  readonly markCompacted: Statement<[string, number]>;
  readonly probe: Statement<[number]>;
}

/** Statements that only read: all a read-only store prepares. */
export function readStatements(db: Database.Database): ReadStatements {
  return {
    sessionById: db.prepare<[number], SessionRow>('SELECT * FROM sessions WHERE session_db_id = ?'),
    sessionByContentId: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE content_session_id = ?'),
    liveSessions: db.prepare<[], SessionRow>("SELECT * FROM sessions WHERE status = 'live' ORDER BY session_db_id"),
    events: db.prepare<[number, number, number], { seq: number; type: string; payload: string; at: number }>(
      'SELECT seq, type, payload, at FROM events WHERE session_db_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    ),
    maxSeq: db.prepare<[number], { seq: number | null }>('SELECT max(seq) AS seq FROM events WHERE session_db_id = ?'),
    snapshot: db.prepare<[number], { seq: number; state: string; at: number }>(
      'SELECT seq, state, at FROM snapshots WHERE session_db_id = ?',
    ),
    workKey: db.prepare<[number, string], { found: number }>(
      'SELECT 1 AS found FROM events WHERE session_db_id = ? AND work_key = ? LIMIT 1',
    ),
    counts: db.prepare<[], { sessions: number; live: number }>(
      "SELECT count(*) AS sessions, coalesce(sum(status = 'live'), 0) AS live FROM sessions",
    ),
    eventCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events'),
    snapshotCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM snapshots'),
    eventsSince: db.prepare(
      `SELECT e.id, e.session_db_id, e.seq, e.type, e.payload, e.at, s.content_session_id, s.project
       FROM events e JOIN sessions s ON s.session_db_id = e.session_db_id
       WHERE e.id > ? ORDER BY e.id LIMIT ?`,
    ),
  };
}

export function writeStatements(db: Database.Database): WriteStatements {
  return {
    insertSession: db.prepare<[string, string, number]>('INSERT INTO sessions (content_session_id, project, created_at) VALUES (?, ?, ?)'),
    insertEvent: db.prepare<EventRow>('INSERT INTO events (session_db_id, seq, type, payload, at, work_key) VALUES (?, ?, ?, ?, ?, ?)'),
    upsertSnapshot: db.prepare<SnapshotRow>(
      `INSERT INTO snapshots (session_db_id, seq, state, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (session_db_id) DO UPDATE SET seq = excluded.seq, state = excluded.state, at = excluded.at`,
    ),
    updateSession: db.prepare<[Record<string, unknown>]>(
      `UPDATE sessions SET last_prompt_number = @lastPromptNumber, last_seq = @lastSeq,
         incarnation_seq = @incarnationSeq, status = @status, disposed_at = @disposedAt, disposal = @disposal,
         processed = @processed, failed = @failed
       WHERE session_db_id = @sessionDbId`,
    ),
    disposedBefore: db.prepare<[number], SessionRow>(
      "SELECT * FROM sessions WHERE status = 'disposed' AND disposed_at <= ? ORDER BY session_db_id",
    ),
    deleteEvents: db.prepare<[number]>('DELETE FROM events WHERE session_db_id = ?'),
    deleteSnapshot: db.prepare<[number]>('DELETE FROM snapshots WHERE session_db_id = ?'),
    setLastSeq: db.prepare<[number, number]>('UPDATE sessions SET last_seq = ? WHERE session_db_id = ?'),
    markCompacted: db.prepare<[string, number]>("UPDATE sessions SET status = 'compacted', summary = ? WHERE session_db_id = ?"),
    probe: db.prepare<[number]>('INSERT INTO write_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
  };
}
