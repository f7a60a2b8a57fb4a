/**
 * Owns the memory tables in PostgreSQL: their schema and its migrations (versioned in `memory_meta`),
 * applied at open under an advisory lock, so that the workers and service processes that start
 * together against one database migrate it once. The same tables and columns as the SQLite store's,
 * with a `tsvector` per memory (GIN-indexed) in place of FTS5.
 * May not: read or write memories (postgres-store.ts does).
 */
import type { PoolClient } from 'pg';

/** `POSTGRES_MIGRATIONS[n]` takes the memory tables from version n to n + 1. */
const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  -- One row per reply whose memories were stored: what makes storing a reply happen once.
  CREATE TABLE memory_replies (
    session_db_id bigint  NOT NULL,
    seq           bigint  NOT NULL,
    at            bigint  NOT NULL,
    observations  integer NOT NULL,
    summaries     integer NOT NULL,
    PRIMARY KEY (session_db_id, seq)
  );
  CREATE INDEX memory_replies_by_time ON memory_replies (at);

  -- Identity columns: a sequence never gives the id of a deleted memory to another (links, dashboards).
  -- \`document\` is the memory's words, weighted (A title, B subtitle and facts, C narrative and concepts,
  -- D the raw text and the files), written with the row by the store.
  CREATE TABLE memory_observations (
    id                 bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_db_id      bigint,
    seq                bigint,
    content_session_id text,
    project            text    NOT NULL,
    prompt_number      integer,
    items              jsonb   NOT NULL DEFAULT '[]',
    type               text    NOT NULL,
    title              text,
    subtitle           text,
    facts              jsonb   NOT NULL DEFAULT '[]',
    narrative          text,
    concepts           jsonb   NOT NULL DEFAULT '[]',
    files_read         jsonb   NOT NULL DEFAULT '[]',
    files_modified     jsonb   NOT NULL DEFAULT '[]',
    text               text,
    created_at         bigint  NOT NULL,
    origin             text    NOT NULL,
    import_key         text    UNIQUE,
    document           tsvector NOT NULL
  );
  CREATE INDEX memory_observations_by_project ON memory_observations (project, created_at DESC, id DESC);
  CREATE INDEX memory_observations_by_time ON memory_observations (created_at DESC, id DESC);
  CREATE INDEX memory_observations_by_session ON memory_observations (session_db_id, id);
  CREATE INDEX memory_observations_search ON memory_observations USING gin (document);

  -- \`document\`: A request, B learned and completed, C investigated, next steps and notes.
  CREATE TABLE memory_summaries (
    id                 bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_db_id      bigint,
    seq                bigint,
    content_session_id text,
    project            text    NOT NULL,
    prompt_number      integer,
    items              jsonb   NOT NULL DEFAULT '[]',
    request            text,
    investigated       text,
    learned            text,
    completed          text,
    next_steps         text,
    notes              text,
    created_at         bigint  NOT NULL,
    origin             text    NOT NULL,
    import_key         text    UNIQUE,
    document           tsvector NOT NULL
  );
  CREATE INDEX memory_summaries_by_project ON memory_summaries (project, created_at DESC, id DESC);
  CREATE INDEX memory_summaries_by_time ON memory_summaries (created_at DESC, id DESC);
  CREATE INDEX memory_summaries_by_session ON memory_summaries (session_db_id, id);
  CREATE INDEX memory_summaries_search ON memory_summaries USING gin (document);

  -- Every file an observation read or modified, by path and by the path reversed (so that "ends with
  -- /src/a.ts" is a range of an index). Byte order (COLLATE "C"), whatever the database's collation:
  -- a range of reversed paths must be a range of code points, as in SQLite.
  CREATE TABLE memory_files (
    observation_id bigint  NOT NULL REFERENCES memory_observations (id) ON DELETE CASCADE,
    path           text    COLLATE "C" NOT NULL,
    reversed       text    COLLATE "C" NOT NULL,
    modified       boolean NOT NULL
  );
  CREATE INDEX memory_files_by_path ON memory_files (path);
  CREATE INDEX memory_files_by_reversed ON memory_files (reversed);
  CREATE INDEX memory_files_by_observation ON memory_files (observation_id);
  `,
];

export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** Held while migrating (per database): the processes that open one database at once take turns. */
const MIGRATION_LOCK = 0x5e55_10_3e;

/**
 * Creates or upgrades the memory tables in one transaction; refuses tables written by a newer version.
 * Returns the schema version found.
 */
export async function migratePostgresMemories(client: PoolClient, location: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS memory_meta (key text PRIMARY KEY, value bigint NOT NULL)');
    const { rows } = await client.query<{ value: number }>("SELECT value FROM memory_meta WHERE key = 'schema'");
    const found = rows[0]?.value ?? 0;
    if (found > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `${location} holds memories written by a newer session-lifecycle (memory schema ${found}; this version reads up to ${POSTGRES_SCHEMA_VERSION}): upgrade session-lifecycle`,
      );
    }
    for (let version = found; version < POSTGRES_SCHEMA_VERSION; version++) await client.query(POSTGRES_MIGRATIONS[version]!);
    if (found < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        "INSERT INTO memory_meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [POSTGRES_SCHEMA_VERSION],
      );
    }
    await client.query('COMMIT');
    return found;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
