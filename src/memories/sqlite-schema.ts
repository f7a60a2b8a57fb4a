/**
 * Owns the memory tables in the event log's file: their schema and its migrations (versioned in
 * `memory_meta`, apart from the log's own `user_version`), the FTS5 indexes and the triggers that keep
 * them and the file index in step with the rows.
 * May not: read or write memories (sqlite-store.ts does).
 */
import type Database from 'better-sqlite3';

/** `MEMORY_MIGRATIONS[n]` takes the memory tables from version n to n + 1. */
const MEMORY_MIGRATIONS: readonly string[] = [
  `
  -- One row per reply whose memories were stored: what makes storing a reply happen once.
  CREATE TABLE memory_replies (
    session_db_id INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    observations  INTEGER NOT NULL,
    summaries     INTEGER NOT NULL,
    PRIMARY KEY (session_db_id, seq)
  ) WITHOUT ROWID;
  CREATE INDEX memory_replies_by_time ON memory_replies (at);

  -- AUTOINCREMENT: the id of a deleted memory is never given to another (links, dashboards).
  CREATE TABLE memory_observations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_db_id      INTEGER,
    seq                INTEGER,
    content_session_id TEXT,
    project            TEXT    NOT NULL,
    prompt_number      INTEGER,
    items              TEXT    NOT NULL DEFAULT '[]',
    type               TEXT    NOT NULL,
    title              TEXT,
    subtitle           TEXT,
    facts              TEXT    NOT NULL DEFAULT '[]',
    narrative          TEXT,
    concepts           TEXT    NOT NULL DEFAULT '[]',
    files_read         TEXT    NOT NULL DEFAULT '[]',
    files_modified     TEXT    NOT NULL DEFAULT '[]',
    text               TEXT,
    created_at         INTEGER NOT NULL,
    origin             TEXT    NOT NULL,
    import_key         TEXT    UNIQUE
  );
  CREATE INDEX memory_observations_by_project ON memory_observations (project, created_at DESC, id DESC);
  CREATE INDEX memory_observations_by_time ON memory_observations (created_at DESC, id DESC);
  CREATE INDEX memory_observations_by_session ON memory_observations (session_db_id, id);

  CREATE TABLE memory_summaries (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_db_id      INTEGER,
    seq                INTEGER,
    content_session_id TEXT,
    project            TEXT    NOT NULL,
    prompt_number      INTEGER,
    items              TEXT    NOT NULL DEFAULT '[]',
    request            TEXT,
    investigated       TEXT,
    learned            TEXT,
    completed          TEXT,
    next_steps         TEXT,
    notes              TEXT,
    created_at         INTEGER NOT NULL,
    origin             TEXT    NOT NULL,
    import_key         TEXT    UNIQUE
  );
  CREATE INDEX memory_summaries_by_project ON memory_summaries (project, created_at DESC, id DESC);
  CREATE INDEX memory_summaries_by_time ON memory_summaries (created_at DESC, id DESC);
  CREATE INDEX memory_summaries_by_session ON memory_summaries (session_db_id, id);

  -- Every file an observation read or modified, by path and by the path reversed (so that "ends with
  -- /src/a.ts" is a range of an index), for the by-file lookups of PreToolUse(Read).
  CREATE TABLE memory_files (
    observation_id INTEGER NOT NULL,
    path           TEXT    NOT NULL,
    reversed       TEXT    NOT NULL,
    modified       INTEGER NOT NULL
  );
  CREATE INDEX memory_files_by_path ON memory_files (path);
  CREATE INDEX memory_files_by_reversed ON memory_files (reversed);
  CREATE INDEX memory_files_by_observation ON memory_files (observation_id);

  -- The words of each memory, and (as one token each: the hex of its bytes, 'k' before it) its project
  -- and an observation's type, so that a search within a project or of a type narrows its candidates in
  -- the index itself, exactly. The keys are only indexed: nothing reads them back.
  CREATE VIRTUAL TABLE memory_observations_fts USING fts5(
    title, subtitle, narrative, text, facts, concepts, files_read, files_modified, project_key, type_key,
    content = 'memory_observations', content_rowid = 'id', tokenize = 'porter unicode61'
  );
  CREATE VIRTUAL TABLE memory_summaries_fts USING fts5(
    request, investigated, learned, completed, next_steps, notes, project_key,
    content = 'memory_summaries', content_rowid = 'id', tokenize = 'porter unicode61'
  );

  CREATE TRIGGER memory_observations_indexed AFTER INSERT ON memory_observations BEGIN
    INSERT INTO memory_observations_fts (rowid, title, subtitle, narrative, text, facts, concepts, files_read, files_modified, project_key, type_key)
    VALUES (new.id, new.title, new.subtitle, new.narrative, new.text, new.facts, new.concepts, new.files_read, new.files_modified,
      'k' || hex(new.project), 'k' || hex(new.type));
  END;
  CREATE TRIGGER memory_observations_unindexed AFTER DELETE ON memory_observations BEGIN
    INSERT INTO memory_observations_fts (memory_observations_fts, rowid, title, subtitle, narrative, text, facts, concepts, files_read, files_modified, project_key, type_key)
    VALUES ('delete', old.id, old.title, old.subtitle, old.narrative, old.text, old.facts, old.concepts, old.files_read, old.files_modified,
      'k' || hex(old.project), 'k' || hex(old.type));
    DELETE FROM memory_files WHERE observation_id = old.id;
  END;
  CREATE TRIGGER memory_summaries_indexed AFTER INSERT ON memory_summaries BEGIN
    INSERT INTO memory_summaries_fts (rowid, request, investigated, learned, completed, next_steps, notes, project_key)
    VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps, new.notes, 'k' || hex(new.project));
  END;
  CREATE TRIGGER memory_summaries_unindexed AFTER DELETE ON memory_summaries BEGIN
    INSERT INTO memory_summaries_fts (memory_summaries_fts, rowid, request, investigated, learned, completed, next_steps, notes, project_key)
    VALUES ('delete', old.id, old.request, old.investigated, old.learned, old.completed, old.next_steps, old.notes, 'k' || hex(old.project));
  END;
  `,
];

export const MEMORY_SCHEMA_VERSION = MEMORY_MIGRATIONS.length;

/** Keys of `memory_meta`. */
export const META = { schema: 'schema', cursor: 'cursor' } as const;

/** Creates or upgrades the memory tables; refuses tables written by a newer version. Returns the schema version found. */
export function migrateMemoryTables(db: Database.Database, location: string): number {
  db.exec('CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID');
  const found = (db.prepare('SELECT value FROM memory_meta WHERE key = ?').pluck().get(META.schema) as number | undefined) ?? 0;
  if (found > MEMORY_SCHEMA_VERSION) {
    throw new Error(
      `${location} holds memories written by a newer session-lifecycle (memory schema ${found}; this version reads up to ${MEMORY_SCHEMA_VERSION}): upgrade session-lifecycle`,
    );
  }
  const setMeta = db.prepare('INSERT INTO memory_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  for (let version = found; version < MEMORY_SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MEMORY_MIGRATIONS[version]!);
      setMeta.run(META.schema, version + 1);
    })();
  }
  return found;
}
