/**
 * The memory store shared by every worker and service process of a Restate cluster: PostgreSQL, through
 * a `pg` pool. The same contract as the SQLite store (test/memories/contract.ts runs against both):
 * storing a reply is one transaction that claims its (sessionDbId, seq) in `memory_replies` with
 * `INSERT … ON CONFLICT DO NOTHING` and inserts its memories, so however often and from however many
 * processes a reply is stored, it is stored once. Schema: postgres-schema.ts; rows: postgres-writes.ts;
 * reads: postgres-reads.ts.
 * A database out of reach is a MemoryStoreUnavailableError; a value it refuses, a MemoryRejectedError.
 * May not: decide what a reply means (parse.ts, source.ts) or when it is stored (the session services).
 */
import pg from 'pg';
import { MemoryRejectedError, MemoryStoreUnavailableError } from './errors.js';
import { createPostgresReads, withoutNul } from './postgres-reads.js';
import { migratePostgresMemories } from './postgres-schema.js';
import { cleanOrigin, insertObservation, insertSummary } from './postgres-writes.js';
import type { ImportedMemory, MemoryCounts, MemoryStore, ParsedReply, RememberResult, ReplySource } from './types.js';

export interface PostgresMemoryOptions {
  /** Required: `postgresql://user:password@host:port/database` (libpq's URL form; `?sslmode=…` and the other parameters work). */
  readonly connectionString: string;
  /** Connections this process holds at most. Default 10: a worker's reads and a service process's writes are short. */
  readonly maxConnections?: number;
  /** How long a connection attempt may take before the store counts as out of reach. Default 10 s. */
  readonly connectTimeoutMs?: number;
}

export interface PostgresMemoryStore extends MemoryStore {
  /** The schema version the database held before this open migrated it (0: the tables were created now). */
  readonly migratedFrom: number;
}

/** What an unreachable database tells callers to wait. */
const RETRY_AFTER_MS = 2_000;

/** The database in messages: the URL without its password. */
export function describeConnection(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '';
    return url.toString().replace(/:@/, '@');
  } catch {
    return 'the PostgreSQL database';
  }
}

/** SQLSTATE classes and codes that mean the database is out of reach or busy for now, not that the request is wrong. */
const TRANSIENT_STATES = /^(08|53|57P0[1-3]|40001|40P01|55P03|58)/;
/** A value the database will never accept (data exception, integrity, a program limit such as the tsvector size). */
const REJECTED_STATES = /^(22|23|54)/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The error a caller acts on: out of reach (retry later), refused for good, or the error itself (a bug, a setting). */
function translate(error: unknown, location: string): unknown {
  if (error instanceof MemoryStoreUnavailableError || error instanceof MemoryRejectedError) return error;
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  if (
    (code !== undefined && (TRANSIENT_STATES.test(code) || NETWORK_CODES.has(code))) ||
    /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed/i.test(text)
  ) {
    return new MemoryStoreUnavailableError(`PostgreSQL at ${location} is out of reach: ${code ?? text}`, RETRY_AFTER_MS, { cause: error });
  }
  if (code !== undefined && REJECTED_STATES.test(code)) {
    return new MemoryRejectedError(`PostgreSQL at ${location} refused the memories (${code}): ${text}`, { cause: error });
  }
  return error;
}

/** bigint columns (ids, times, seqs) as numbers: every value this store writes is a safe integer. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Opens the memories kept in a PostgreSQL database: connects, creates or upgrades the tables (one
 * process at a time), and answers the MemoryStore contract. Rejects with a MemoryStoreUnavailableError
 * when the database cannot be reached, or an error naming the database (without its password) when it
 * refuses (sign-in, a newer schema).
 */
export async function openPostgresMemories(options: PostgresMemoryOptions): Promise<PostgresMemoryStore> {
  const location = describeConnection(options.connectionString);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'session-lifecycle',
    types,
  });
  // An idle connection the server dropped (a restart) is an event, not a crash: the next query reconnects.
  pool.on('error', () => {});
  let migratedFrom: number;
  try {
    const client = await pool.connect();
    try {
      migratedFrom = await migratePostgresMemories(client, location);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => {});
    throw translate(error, location);
  }

  let closed = false;
  const reads = createPostgresReads(pool);
  /** Every call: refused once closed; its failure in the caller's terms. */
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) throw new Error(`${location}: the memory store is closed`);
    try {
      return await work();
    } catch (error) {
      throw translate(error, location);
    }
  };
  /** One transaction on one connection; a connection that failed mid-way is not given back to the pool. */
  const transaction = <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> =>
    guarded(async () => {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
          broken = rollbackFailed;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    });
  const counts = (observations: number | null, summaries: number | null): MemoryCounts => ({
    observations: observations ?? 0,
    summaries: summaries ?? 0,
  });

  return {
    description: {
      kind: 'postgres',
      location,
      ranking: 'ts_rank over PostgreSQL full-text search (lexical: English words and their stems, not meaning)',
    },
    migratedFrom,

    remember: (source: ReplySource, parsed: ParsedReply): Promise<RememberResult> =>
      transaction(async (client) => {
        const stored = { observations: parsed.observations.length, summaries: parsed.summaries.length };
        const claimed = await client.query({
          name: 'memories-claim-reply',
          text: 'INSERT INTO memory_replies (session_db_id, seq, at, observations, summaries) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          values: [source.sessionDbId, source.seq, source.at, stored.observations, stored.summaries],
        });
        // Stored before (a retry, a replay, another process): nothing more, whatever this call carries.
        if (claimed.rowCount === 0) return { stored: false, observations: 0, summaries: 0 };
        const origin = cleanOrigin({ ...source, createdAt: source.at, origin: 'reply', importKey: null });
        for (const fields of parsed.observations) await insertObservation(client, origin, fields);
        for (const fields of parsed.summaries) await insertSummary(client, origin, fields);
        return { stored: true, ...stored };
      }),
    remembered: (sessionDbId, seq) =>
      guarded(
        async () =>
          (await pool.query('SELECT 1 FROM memory_replies WHERE session_db_id = $1 AND seq = $2', [sessionDbId, seq])).rowCount! > 0,
      ),
    import: (memories: readonly ImportedMemory[]) =>
      transaction(async (client) => {
        const added = { observations: 0, summaries: 0 };
        let skipped = 0;
        for (const memory of memories) {
          const origin = cleanOrigin({ ...memory, sessionDbId: null, seq: null, items: [], importKey: memory.key });
          const inserted =
            memory.kind === 'observation'
              ? await insertObservation(client, origin, memory.fields)
              : await insertSummary(client, origin, memory.fields);
          if (!inserted) skipped++;
          else if (memory.kind === 'observation') added.observations++;
          else added.summaries++;
        }
        return { added, skipped };
      }),

    recent: (query) => guarded(() => reads.recent(query)),
    byFile: (query) => guarded(() => reads.byFile(query)),
    search: (query) => guarded(() => reads.search(query)),
    observations: (query) => guarded(() => reads.page('observation', query)),
    summaries: (query) => guarded(() => reads.page('summary', query)),
    get: (kind, id) => guarded(() => reads.get(kind, id)),

    delete: (kind, id) =>
      guarded(async () => {
        const table = kind === 'observation' ? 'memory_observations' : 'memory_summaries';
        return ((await pool.query(`DELETE FROM ${table} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
      }),
    deleteProject: (project) =>
      transaction(async (client) =>
        counts(
          (await client.query('DELETE FROM memory_observations WHERE project = $1', [withoutNul(project)])).rowCount,
          (await client.query('DELETE FROM memory_summaries WHERE project = $1', [withoutNul(project)])).rowCount,
        ),
      ),
    forgetBefore: (at) =>
      transaction(async (client) => {
        const forgotten = counts(
          (await client.query('DELETE FROM memory_observations WHERE created_at < $1', [at])).rowCount,
          (await client.query('DELETE FROM memory_summaries WHERE created_at < $1', [at])).rowCount,
        );
        // A reply this old is past the log's reach: its ledger row can go too.
        await client.query('DELETE FROM memory_replies WHERE at < $1', [at]);
        return forgotten;
      }),

    stats: () =>
      guarded(async () => {
        const { rows } = await pool.query<{ observations: number; summaries: number; replies: number; projects: number }>(
          `SELECT (SELECT count(*) FROM memory_observations) AS observations, (SELECT count(*) FROM memory_summaries) AS summaries,
             (SELECT count(*) FROM memory_replies) AS replies,
             (SELECT count(*) FROM (SELECT project FROM memory_observations UNION SELECT project FROM memory_summaries) p) AS projects`,
        );
        return { ...rows[0]! };
      }),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
