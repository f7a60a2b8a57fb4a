/**
 * Owns the log file itself: opening it (refusing files that are not ours, damaged or newer), the
 * schema and its migrations, and the pragmas a durable log needs (WAL, synchronous, incremental vacuum).
 * May not: read or write sessions and events (sqlite.ts does).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreError } from './errors.js';

/** The schema this version writes; files with a higher `user_version` are refused, lower ones migrated. */
export const SCHEMA_VERSION = 2;
/** Pages of write-ahead log between automatic checkpoints (4 KB each). */
const WAL_CHECKPOINT_PAGES = 256;
/** `PRAGMA application_id`: 'SLC1'. Tells our log from any other SQLite file. */
export const APPLICATION_ID = 0x534c4331;

/** `MIGRATIONS[n]` takes a database from schema n to n + 1. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sessions (
    session_db_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    content_session_id TEXT    NOT NULL UNIQUE,
    project            TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    last_prompt_number INTEGER NOT NULL DEFAULT 0,
    last_seq           INTEGER NOT NULL DEFAULT 0,
    incarnation_seq    INTEGER,
    status             TEXT    NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'disposed', 'compacted')),
    disposed_at        INTEGER,
    disposal           TEXT,
    processed          INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0,
    summary            TEXT
  );
  CREATE INDEX sessions_by_status ON sessions (status, disposed_at);
  CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    session_db_id INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    type          TEXT    NOT NULL,
    payload       TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    UNIQUE (session_db_id, seq)
  );
  CREATE TABLE snapshots (
    session_db_id INTEGER PRIMARY KEY,
    seq           INTEGER NOT NULL,
    state         TEXT    NOT NULL,
    at            INTEGER NOT NULL
  );
  `,
  // 2: work keys (a hook's tool_use_id) indexed, so a retry is recognised over a session's whole life;
  // a table for the write probe that tells when a full disk has room again.
  `
  ALTER TABLE events ADD COLUMN work_key TEXT;
  UPDATE events SET work_key = json_extract(payload, '$.item.toolUseId') WHERE type = 'WORK_QUEUED';
  CREATE INDEX events_by_work_key ON events (session_db_id, work_key) WHERE work_key IS NOT NULL;
  CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
  );
  `,
];

export interface SqliteStoreOptions {
  /**
   * `process` (default) survives `kill -9` of the worker: a commit is in the write-ahead log before
   * `flush` resolves. `power-loss` also fsyncs every commit, to survive an OS crash, at a cost (the
   * default leaves that cost to those who need it: docs/benchmarks.md measures both).
   */
  readonly durability?: 'process' | 'power-loss';
  /** Checks every page when opening (PRAGMA quick_check), to refuse a truncated file. Default true. */
  readonly verify?: boolean;
  /**
   * Opens for reading only (the `replay` command, audits): no ownership is taken, so it works beside
   * the worker that owns the log, and nothing is written or migrated. Default false: the opener owns the log.
   */
  readonly readOnly?: boolean;
  /** What the owner record says besides pid and start time (see ownership.ts). Default nothing more: a library user has no port. */
  readonly owner?: { readonly port?: number; readonly host?: string; readonly version?: string };
  /**
   * Called before every commit; what it throws fails that commit as a disk error would. For fault
   * tests ("the disk is full now"); default unset, as production leaves it.
   */
  readonly beforeCommit?: () => void;
}

/** Creates the log's directory (and its parents) if needed. */
export function ensureDirectory(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    throw new EventStoreError('unwritable', path, `cannot create the directory of the event log ${path}: ${messageOf(error)}`, error);
  }
}

export function openDatabase(path: string, options: SqliteStoreOptions): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: options.readOnly === true, fileMustExist: options.readOnly === true });
  } catch (error) {
    throw new EventStoreError('unwritable', path, `cannot open the event log ${path}: ${messageOf(error)}`, error);
  }
  try {
    const tables = db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number;
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const userVersion = db.pragma('user_version', { simple: true }) as number;
    if (options.readOnly && userVersion < SCHEMA_VERSION) {
      throw new EventStoreError(
        'older-schema',
        path,
        `${path} was written by an older session-lifecycle (schema ${userVersion}); start the worker once to upgrade it, then read it.`,
      );
    }
    if (tables === 0 && userVersion === 0) {
      // A new file: these can only be set before the first table exists.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma(`application_id = ${APPLICATION_ID}`);
    } else if (applicationId !== APPLICATION_ID) {
      throw new EventStoreError(
        'foreign-database',
        path,
        `${path} is a SQLite database, but not a session-lifecycle event log (application_id ${applicationId}). ` +
          'Point CLAUDE_MEM_DATA_DIR at another directory, or move the file away.',
      );
    } else if (userVersion > SCHEMA_VERSION) {
      throw new EventStoreError(
        'newer-schema',
        path,
        `${path} was written by a newer session-lifecycle (schema ${userVersion}; this version reads up to ${SCHEMA_VERSION}). ` +
          'Upgrade session-lifecycle, or point CLAUDE_MEM_DATA_DIR at another directory to start a new log.',
      );
    }
    if (options.verify !== false) {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
    }
    db.pragma('busy_timeout = 5000');
    if (options.readOnly) return db;
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'power-loss' ? 'FULL' : 'NORMAL'}`);
    // The write-ahead log is checkpointed every ~1 MB (SQLite's default is ~4 MB) and cut back to 1 MB
    // after, so that the log's footprint beyond its data stays small on a small or nearly full disk.
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_PAGES * 4096}`);
    migrate(db, userVersion);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof EventStoreError) throw error;
    throw describeOpenError(path, error);
  }
}

function migrate(db: Database.Database, from: number): void {
  for (let version = from; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

function describeOpenError(path: string, error: unknown): EventStoreError {
  const code = (error as { code?: string }).code;
  const cause = messageOf(error);
  if (code === 'SQLITE_NOTADB') {
    return new EventStoreError(
      'not-a-database',
      path,
      `${path} is not a SQLite database (${cause}): it is not a log this worker wrote, or it was overwritten. ` +
        `Move it aside (mv "${path}" "${path}.bad") to start with an empty log, or point CLAUDE_MEM_DATA_DIR elsewhere.`,
      error,
    );
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_CORRUPT_VTAB' || /malformed|corrupt/i.test(cause)) {
    return new EventStoreError(
      'corrupt',
      path,
      `${path} is damaged (${cause}); it may have been truncated or partly overwritten. Keep a copy, then salvage ` +
        `what is readable with: sqlite3 "${path}" ".recover" | sqlite3 "${path}.recovered" ` +
        `and move the recovered file in its place, or move the damaged file aside to start with an empty log.`,
      error,
    );
  }
  return new EventStoreError('unwritable', path, `cannot open the event log ${path}: ${cause}`, error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
