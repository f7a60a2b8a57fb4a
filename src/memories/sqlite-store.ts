/**
 * The memory store of the embedded engine: tables in the event log's own SQLite file, written as a
 * projection of the log in the very transaction that commits a reply's event (so a reply's memories
 * are committed with it, or not at all, across `kill -9`), and caught up from the log when the file is
 * opened (a log written before memories existed, or by a worker without them). Reads are
 * sqlite-reads.ts's; full-text search is FTS5 ranked by bm25: lexical, not semantic.
 * May not: write the log (the event store does), or decide what a reply means (parse.ts, source.ts).
 */
import type Database from 'better-sqlite3';
import type { SqliteEventStore } from '../store/index.js';
import { normalisePath } from './matching.js';
import { parseReply } from './parse.js';
import { observationValues, type RowOrigin, summaryValues } from './rows.js';
import { REPLY_EVENT, type ReplyEvent, replyOf } from './source.js';
import { createSqliteReads } from './sqlite-reads.js';
import { META, migrateMemoryTables } from './sqlite-schema.js';
import type { ImportedMemory, MemoryCounts, MemoryStore, ObservationFields, ParsedReply, RememberResult, ReplySource } from './types.js';

export interface SqliteMemoryStore extends MemoryStore {
  /** How many replies the opening caught up from the log (stored by no commit before). */
  readonly caughtUp: number;
}

/** Events read per transaction while catching up. */
const CATCH_UP_BATCH = 1_000;

const reversed = (text: string) => [...text].reverse().join('');

/**
 * Opens the memories kept in `log`'s file: creates or upgrades their tables, catches up with the
 * replies the log holds that have none yet, and from then on stores each reply's memories in the commit
 * that logs it.
 */
export function openSqliteMemories(log: SqliteEventStore): SqliteMemoryStore {
  const db = log.database;
  migrateMemoryTables(db, log.location);
  const statements = prepare(db);
  let closed = false;

  /** Stores a reply's memories (inside a transaction the caller holds); nothing if stored before. */
  const rememberNow = (source: ReplySource, parsed: ParsedReply): RememberResult => {
    const counts = { observations: parsed.observations.length, summaries: parsed.summaries.length };
    const claimed = statements.claimReply.run(source.sessionDbId, source.seq, source.at, counts.observations, counts.summaries);
    if (claimed.changes === 0) return { stored: false, observations: 0, summaries: 0 };
    const origin: RowOrigin = { ...source, createdAt: source.at, origin: 'reply', importKey: null };
    for (const fields of parsed.observations) insertObservation(statements, origin, fields);
    for (const fields of parsed.summaries) statements.insertSummary.run(summaryValues(origin, fields));
    return { stored: true, ...counts };
  };
  const rememberEvent = (event: ReplyEvent): boolean => {
    const found = replyOf(event);
    return found !== undefined && rememberNow(found.source, parseReply(found.reply)).stored;
  };

  // Catch up before the log takes new commits: the projection below then sees every later reply.
  const cursor = () => (statements.getMeta.get(META.cursor) as number | undefined) ?? 0;
  let caughtUp = 0;
  for (;;) {
    const events = log.eventsSince(cursor(), CATCH_UP_BATCH);
    if (events.length === 0) break;
    db.transaction(() => {
      for (const event of events) if (rememberEvent(event)) caughtUp++;
      statements.setMeta.run(META.cursor, events.at(-1)!.id);
    })();
  }
  const stopProjecting = log.project({
    eventTypes: new Set([REPLY_EVENT]),
    apply(events, lastEventId) {
      for (const event of events) rememberEvent(event);
      statements.setMeta.run(META.cursor, lastEventId);
    },
  });

  const reads = createSqliteReads(db);

  const counts = (observations: number, summaries: number): MemoryCounts => ({ observations, summaries });
  const ensureOpen = () => {
    if (closed) throw new Error(`${log.location}: the memory store is closed`);
  };

  return {
    description: { kind: 'sqlite', location: log.location, ranking: 'bm25 over SQLite FTS5 (lexical: words and their stems, not meaning)' },
    caughtUp,

    async remember(source, parsed) {
      ensureOpen();
      return db.transaction(() => rememberNow(source, parsed))();
    },
    async remembered(sessionDbId, seq) {
      ensureOpen();
      return statements.hasReply.get(sessionDbId, seq) !== undefined;
    },
    async import(memories: readonly ImportedMemory[]) {
      ensureOpen();
      return db.transaction(() => {
        const added = { observations: 0, summaries: 0 };
        let skipped = 0;
        for (const memory of memories) {
          const origin: RowOrigin = { ...memory, sessionDbId: null, seq: null, items: [], importKey: memory.key };
          const inserted =
            memory.kind === 'observation'
              ? insertObservation(statements, origin, memory.fields)
              : statements.insertSummary.run(summaryValues(origin, memory.fields)).changes > 0;
          if (!inserted) skipped++;
          else if (memory.kind === 'observation') added.observations++;
          else added.summaries++;
        }
        return { added, skipped };
      })();
    },

    async recent(query) {
      ensureOpen();
      return reads.recent(query);
    },
    async byFile(query) {
      ensureOpen();
      return reads.byFile(query);
    },
    async search(query) {
      ensureOpen();
      return reads.search(query);
    },
    async observations(query) {
      ensureOpen();
      return reads.page('observation', query);
    },
    async summaries(query) {
      ensureOpen();
      return reads.page('summary', query);
    },
    async get(kind, id) {
      ensureOpen();
      return reads.get(kind, id);
    },

    async delete(kind, id) {
      ensureOpen();
      return (kind === 'observation' ? statements.deleteObservation : statements.deleteSummary).run(id).changes > 0;
    },
    async deleteProject(project) {
      ensureOpen();
      return db.transaction(() =>
        counts(statements.deleteProjectObservations.run(project).changes, statements.deleteProjectSummaries.run(project).changes),
      )();
    },
    async forgetBefore(at) {
      ensureOpen();
      return db.transaction(() => {
        const forgotten = counts(statements.forgetObservations.run(at).changes, statements.forgetSummaries.run(at).changes);
        // A reply this old is past the log's reach: its ledger row can go too.
        statements.forgetReplies.run(at);
        return forgotten;
      })();
    },

    async stats() {
      ensureOpen();
      const row = statements.stats.get() as { observations: number; summaries: number; replies: number; projects: number };
      return { ...row };
    },
    async close() {
      if (closed) return;
      closed = true;
      stopProjecting();
    },
  };
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    getMeta: db.prepare('SELECT value FROM memory_meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT INTO memory_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    claimReply: db.prepare(
      'INSERT INTO memory_replies (session_db_id, seq, at, observations, summaries) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    hasReply: db.prepare('SELECT 1 FROM memory_replies WHERE session_db_id = ? AND seq = ?'),
    insertObservation: db.prepare(
      `INSERT INTO memory_observations (session_db_id, seq, content_session_id, project, prompt_number, items, type, title, subtitle,
         facts, narrative, concepts, files_read, files_modified, text, created_at, origin, import_key)
       VALUES (@session_db_id, @seq, @content_session_id, @project, @prompt_number, @items, @type, @title, @subtitle,
         @facts, @narrative, @concepts, @files_read, @files_modified, @text, @created_at, @origin, @import_key)
       ON CONFLICT (import_key) DO NOTHING`,
    ),
    insertFile: db.prepare('INSERT INTO memory_files (observation_id, path, reversed, modified) VALUES (?, ?, ?, ?)'),
    insertSummary: db.prepare(
      `INSERT INTO memory_summaries (session_db_id, seq, content_session_id, project, prompt_number, items, request, investigated,
         learned, completed, next_steps, notes, created_at, origin, import_key)
       VALUES (@session_db_id, @seq, @content_session_id, @project, @prompt_number, @items, @request, @investigated,
         @learned, @completed, @next_steps, @notes, @created_at, @origin, @import_key)
       ON CONFLICT (import_key) DO NOTHING`,
    ),
    deleteObservation: db.prepare('DELETE FROM memory_observations WHERE id = ?'),
    deleteSummary: db.prepare('DELETE FROM memory_summaries WHERE id = ?'),
    deleteProjectObservations: db.prepare('DELETE FROM memory_observations WHERE project = ?'),
    deleteProjectSummaries: db.prepare('DELETE FROM memory_summaries WHERE project = ?'),
    forgetObservations: db.prepare('DELETE FROM memory_observations WHERE created_at < ?'),
    forgetSummaries: db.prepare('DELETE FROM memory_summaries WHERE created_at < ?'),
    forgetReplies: db.prepare('DELETE FROM memory_replies WHERE at < ?'),
    stats: db.prepare(
      `SELECT (SELECT count(*) FROM memory_observations) AS observations, (SELECT count(*) FROM memory_summaries) AS summaries,
         (SELECT count(*) FROM memory_replies) AS replies,
         (SELECT count(*) FROM (SELECT project FROM memory_observations UNION SELECT project FROM memory_summaries)) AS projects`,
    ),
  };
}

/** Inserts an observation and its files; false when its import key was imported before. */
function insertObservation(statements: Statements, origin: RowOrigin, fields: ObservationFields): boolean {
  const result = statements.insertObservation.run(observationValues(origin, fields));
  if (result.changes === 0) return false;
  const id = Number(result.lastInsertRowid);
  const files = new Map<string, boolean>();
  for (const path of fields.filesRead) files.set(normalisePath(path), files.get(normalisePath(path)) ?? false);
  for (const path of fields.filesModified) files.set(normalisePath(path), true);
  for (const [path, modified] of files) if (path !== '') statements.insertFile.run(id, path, reversed(path), modified ? 1 : 0);
  return true;
}
