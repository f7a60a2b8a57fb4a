/**
 * Owns how the SQLite memory store reads: the newest memories of projects (one index walk per project,
 * never a sort of a whole project), a file's observations (through the path index), full-text search
 * (FTS5, bm25, the newest matches ranked), pages and single memories. Every read is a bounded query.
 * May not: write.
 */
import type Database from 'better-sqlite3';
import { pathMatch, queryWords } from './matching.js';
import { type ObservationRow, type SummaryRow, toObservation, toSummary } from './rows.js';
import type {
  ByFileQuery,
  ListQuery,
  Memory,
  MemoryKind,
  Observation,
  Page,
  RecentQuery,
  SearchQuery,
  SearchResult,
  Summary,
} from './types.js';

export const OBSERVATION_COLUMNS =
  'id, session_db_id, seq, content_session_id, project, prompt_number, items, type, title, subtitle, facts, narrative, concepts, files_read, files_modified, text, created_at, origin';
export const SUMMARY_COLUMNS =
  'id, session_db_id, seq, content_session_id, project, prompt_number, items, request, investigated, learned, completed, next_steps, notes, created_at, origin';

/**
 * A search ranks (bm25) at most this many matches: the newest. Ranking every match of a word found in
 * most memories costs a read of each (about 80 ms for 80,000 of 100,000; the newest 1,000 take about 3 ms); a word in
 * fewer memories than this is ranked over all of them.
 */
export const RANKED_CANDIDATES = 1_000;
/** A project's summaries are read this many at a time while looking for its newest distinct sessions. */
const SUMMARY_PAGE = 64;

const TABLES = {
  observation: {
    table: 'memory_observations',
    columns: OBSERVATION_COLUMNS,
    /** bm25 weights, column by column: a title counts most, then facts and a subtitle; the keys are filters, not words. */
    weights: '8.0, 4.0, 2.0, 1.0, 4.0, 2.0, 1.0, 1.0, 0.0, 0.0',
  },
  summary: {
    table: 'memory_summaries',
    columns: SUMMARY_COLUMNS,
    weights: '4.0, 1.0, 2.0, 2.0, 1.0, 1.0, 0.0',
  },
} as const;

/** The one-token key the FTS index holds for a project or a type (see sqlite-schema.ts): 'k' and its bytes in hex. */
export function indexKey(value: string): string {
  return `k${Buffer.from(value, 'utf8').toString('hex')}`;
}

const reversed = (text: string) => [...text].reverse().join('');
const newestFirst = (a: { created_at: number; id: number }, b: { created_at: number; id: number }) =>
  b.created_at - a.created_at || b.id - a.id;

/** The `column = ?` clauses of the filters that are set, and their values. */
function conditions(filters: readonly (readonly [string, unknown])[]): { clauses: string[]; values: unknown[] } {
  const set = filters.filter(([, value]) => value !== undefined);
  return { clauses: set.map(([clause]) => clause), values: set.map(([, value]) => value) };
}

export interface SqliteReads {
  recent(query: RecentQuery): SearchResult;
  byFile(query: ByFileQuery): Observation[];
  search(query: SearchQuery): SearchResult;
  page(kind: 'observation', query: ListQuery): Page<Observation>;
  page(kind: 'summary', query: ListQuery): Page<Summary>;
  get(kind: MemoryKind, id: number): Memory | undefined;
}

export function createSqliteReads(db: Database.Database): SqliteReads {
  /** Statements built from a query's shape (which filters it has): a handful of shapes, each prepared once. */
  const shapes = new Map<string, Database.Statement>();
  const cached = (sql: string): Database.Statement => {
    let statement = shapes.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      if (shapes.size < 256) shapes.set(sql, statement);
    }
    return statement;
  };
  const newestOf = (kind: MemoryKind) =>
    `SELECT ${TABLES[kind].columns} FROM ${TABLES[kind].table} WHERE project = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`;

  const recentObservations = (projects: readonly string[], limit: number): Observation[] => {
    if (limit <= 0) return [];
    const rows = projects.flatMap((project) => cached(newestOf('observation')).all(project, limit, 0) as ObservationRow[]);
    return rows.sort(newestFirst).slice(0, limit).map(toObservation);
  };

  /** The newest summary of each of the newest `sessions` sessions of the projects. */
  const latestSummaries = (projects: readonly string[], sessions: number): Summary[] => {
    if (sessions <= 0) return [];
    const found: SummaryRow[] = [];
    for (const project of projects) {
      const seen = new Set<string>();
      for (let offset = 0; seen.size < sessions; offset += SUMMARY_PAGE) {
        const page = cached(newestOf('summary')).all(project, SUMMARY_PAGE, offset) as SummaryRow[];
        for (const row of page) {
          const session = row.content_session_id ?? `#${row.id}`;
          if (seen.has(session) || seen.size >= sessions) continue;
          seen.add(session);
          found.push(row);
        }
        if (page.length < SUMMARY_PAGE) break;
      }
    }
    return found.sort(newestFirst).slice(0, sessions).map(toSummary);
  };

  const searchKind = <Row>(kind: MemoryKind, query: SearchQuery): Row[] => {
    const { table, weights } = TABLES[kind];
    const columns = TABLES[kind].columns
      .split(', ')
      .map((column) => `m.${column}`)
      .join(', ');
    const observationType = kind === 'observation' ? query.observationType : undefined;
    const { clauses, values } = conditions([
      ['m.project = ?', query.project],
      ['m.session_db_id = ?', query.sessionDbId],
      ['m.type = ?', observationType],
    ]);
    const where = clauses.map((clause) => ` AND ${clause}`).join('');
    const offset = query.offset ?? 0;
    const terms = queryWords(query.text ?? '', { prompt: query.match === 'any' });
    if (terms.length === 0) {
      const sql = `SELECT ${columns} FROM ${table} m WHERE 1 = 1${where} ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?`;
      return cached(sql).all(...values, query.limit, offset) as Row[];
    }
    // Every word quoted (no query syntax gets through); the project and type narrow in the index, exactly.
    // No column filter: it costs a read of each candidate's positions (18 ms instead of 3 for a word in
    // most memories), and a key ('k' and hex) is no word anyone writes.
    const match = [
      `(${terms.map((term) => `"${term}"`).join(query.match === 'any' ? ' OR ' : ' ')})`,
      ...(query.project === undefined ? [] : [`"${indexKey(query.project)}"`]),
      ...(observationType === undefined ? [] : [`"${indexKey(observationType)}"`]),
    ].join(' AND ');
    const candidates = `SELECT rowid AS id, bm25(${table}_fts, ${weights}) AS score FROM ${table}_fts WHERE ${table}_fts MATCH ? ORDER BY rowid DESC LIMIT ${RANKED_CANDIDATES}`;
    // The page is cut from the ranked ids before any row is read; only a session filter (not in the
    // index) needs the rows first. Project and type were matched exactly in the index; checked again for free.
    const sql =
      query.sessionDbId === undefined
        ? `SELECT ${columns} FROM (SELECT id, score FROM (${candidates}) ORDER BY score, id DESC LIMIT ? OFFSET ?) r ` +
          `JOIN ${table} m ON m.id = r.id WHERE 1 = 1${where} ORDER BY r.score, m.id DESC`
        : `SELECT ${columns} FROM (${candidates}) r JOIN ${table} m ON m.id = r.id WHERE 1 = 1${where} ORDER BY r.score, m.id DESC LIMIT ? OFFSET ?`;
    return (
      query.sessionDbId === undefined
        ? cached(sql).all(match, query.limit, offset, ...values)
        : cached(sql).all(match, ...values, query.limit, offset)
    ) as Row[];
  };

  function page(kind: 'observation', query: ListQuery): Page<Observation>;
  function page(kind: 'summary', query: ListQuery): Page<Summary>;
  function page(kind: MemoryKind, query: ListQuery): Page<Memory> {
    const { table, columns } = TABLES[kind];
    const { clauses, values } = conditions([
      ['project = ?', query.project],
      ['session_db_id = ?', query.sessionDbId],
    ]);
    const where = clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`;
    const sql = `SELECT ${columns} FROM ${table}${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`;
    const rows = cached(sql).all(...values, query.limit + 1, query.offset) as (ObservationRow & SummaryRow)[];
    const items: Memory[] = rows.slice(0, query.limit).map((row) => (kind === 'observation' ? toObservation(row) : toSummary(row)));
    return { items, hasMore: rows.length > query.limit, offset: query.offset, limit: query.limit };
  }

  return {
    recent: (query) => ({
      observations: recentObservations(query.projects, query.observations),
      summaries: latestSummaries(query.projects, query.sessions),
    }),
    byFile(query) {
      const { exact, endings } = pathMatch(query.paths);
      if (exact.length === 0 || query.limit <= 0) return [];
      // Equal to a candidate, or ending with `/<relative candidate>`: a range of the reversed-path index.
      const clauses = [`path IN (${exact.map(() => '?').join(', ')})`, ...endings.map(() => '(reversed >= ? AND reversed < ?)')];
      const values: unknown[] = [...exact, ...endings.flatMap((ending) => [reversed(ending), `${reversed(ending)}\u{10FFFF}`])];
      const projects = query.projects ?? [];
      const projectClause = projects.length === 0 ? '' : ` AND project IN (${projects.map(() => '?').join(', ')})`;
      const sql =
        `SELECT ${OBSERVATION_COLUMNS} FROM memory_observations WHERE id IN ` +
        `(SELECT observation_id FROM memory_files WHERE ${clauses.join(' OR ')})${projectClause} ` +
        'ORDER BY created_at DESC, id DESC LIMIT ?';
      return (cached(sql).all(...values, ...projects, query.limit) as ObservationRow[]).map(toObservation);
    },
    search(query) {
      const kinds = query.kinds ?? ['observation', 'summary'];
      return {
        observations: kinds.includes('observation') ? searchKind<ObservationRow>('observation', query).map(toObservation) : [],
        // A type is an observation's: a search for one finds no summary.
        summaries:
          kinds.includes('summary') && query.observationType === undefined ? searchKind<SummaryRow>('summary', query).map(toSummary) : [],
      };
    },
    page,
    get(kind, id) {
      const row = cached(`SELECT ${TABLES[kind].columns} FROM ${TABLES[kind].table} WHERE id = ?`).get(id) as
        | (ObservationRow & SummaryRow)
        | undefined;
      if (row === undefined) return undefined;
      return kind === 'observation' ? toObservation(row) : toSummary(row);
    },
  };
}
