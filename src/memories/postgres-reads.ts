/**
 * Owns how the PostgreSQL memory store reads, with the SQLite store's semantics: the newest memories of
 * projects (one index walk per project), a file's observations (through the path index), full-text
 * search (a `tsvector` per memory, GIN-indexed, the newest 1,000 matches ranked by ts_rank), pages and
 * single memories. Every read is one bounded query (a project's summaries: a few pages of one).
 * May not: write.
 */
import type { Pool } from 'pg';
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

/** The text search configuration of documents and queries: English stems and stop words (SQLite: porter). */
export const TEXT_SEARCH_CONFIG = 'english';
/**
 * A search ranks at most this many matches, the newest (as the SQLite store does, for the same reason).
 * Newest by (created_at, id): a word found in most memories is then a walk of the (project, created_at,
 * id) or (created_at, id) index that stops at this many matches (about 5 ms at 100,000 memories), where
 * ordering by id alone walked the whole table for a project's matches (60 ms); a rare word is a GIN
 * lookup and a sort of its few matches.
 */
export const RANKED_CANDIDATES = 1_000;
/** ts_rank's weights of D, C, B and A: 1, 2, 4 and 8 as the SQLite store's bm25 weights. */
const RANK_WEIGHTS = '{0.125, 0.25, 0.5, 1.0}';
/** A project's summaries are read this many at a time while looking for its newest distinct sessions. */
const SUMMARY_PAGE = 64;

const COMMON = ['id', 'session_db_id', 'seq', 'content_session_id', 'project', 'prompt_number', 'items::text AS items'];
const TABLES = {
  observation: {
    table: 'memory_observations',
    columns: [
      ...COMMON,
      'type',
      'title',
      'subtitle',
      'facts::text AS facts',
      'narrative',
      'concepts::text AS concepts',
      'files_read::text AS files_read',
      'files_modified::text AS files_modified',
      'text',
      'created_at',
      'origin',
    ],
  },
  summary: {
    table: 'memory_summaries',
    columns: [...COMMON, 'request', 'investigated', 'learned', 'completed', 'next_steps', 'notes', 'created_at', 'origin'],
  },
} as const;

/** The select list of a kind, its columns read from `alias`. */
function columnsOf(kind: MemoryKind, alias = ''): string {
  return TABLES[kind].columns.map((column) => `${alias === '' ? '' : `${alias}.`}${column}`).join(', ');
}

/** PostgreSQL's text holds no NUL character: a query for one looks for the text without it. */
export const withoutNul = (text: string): string => (text.includes('\u0000') ? text.replaceAll('\u0000', '') : text);

const reversed = (text: string) => [...text].reverse().join('');

/** Builds a statement's text and its positional values together. */
class Statement {
  readonly values: unknown[] = [];
  /** `$n` for a new value. */
  value(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

export interface PostgresReads {
  recent(query: RecentQuery): Promise<SearchResult>;
  byFile(query: ByFileQuery): Promise<Observation[]>;
  search(query: SearchQuery): Promise<SearchResult>;
  page(kind: 'observation', query: ListQuery): Promise<Page<Observation>>;
  page(kind: 'summary', query: ListQuery): Promise<Page<Summary>>;
  get(kind: MemoryKind, id: number): Promise<Memory | undefined>;
}

export function createPostgresReads(pool: Pool): PostgresReads {
  const rows = async <Row>(text: string, values: unknown[]): Promise<Row[]> => (await pool.query(text, values)).rows as Row[];

  const recentObservations = async (projects: readonly string[], limit: number): Promise<Observation[]> => {
    if (limit <= 0 || projects.length === 0) return [];
    // One walk of the (project, created_at, id) index per project, the newest `limit` of them all.
    const found = await rows<ObservationRow>(
      `SELECT m.* FROM unnest($1::text[]) AS p(project)
       CROSS JOIN LATERAL (SELECT ${columnsOf('observation')} FROM memory_observations o
         WHERE o.project = p.project ORDER BY o.created_at DESC, o.id DESC LIMIT $2) m
       ORDER BY m.created_at DESC, m.id DESC LIMIT $2`,
      [projects.map(withoutNul), limit],
    );
    return found.map(toObservation);
  };

  /** The newest summary of each of the newest `sessions` sessions of the projects. */
  const latestSummaries = async (projects: readonly string[], sessions: number): Promise<Summary[]> => {
    if (sessions <= 0) return [];
    const found: SummaryRow[] = [];
    for (const project of projects) {
      const seen = new Set<string>();
      for (let offset = 0; seen.size < sessions; offset += SUMMARY_PAGE) {
        const page = await rows<SummaryRow>(
          `SELECT ${columnsOf('summary')} FROM memory_summaries WHERE project = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
          [withoutNul(project), SUMMARY_PAGE, offset],
        );
        for (const row of page) {
          const session = row.content_session_id ?? `#${row.id}`;
          if (seen.has(session) || seen.size >= sessions) continue;
          seen.add(session);
          found.push(row);
        }
        if (page.length < SUMMARY_PAGE) break;
      }
    }
    const newestFirst = (a: SummaryRow, b: SummaryRow) => b.created_at - a.created_at || b.id - a.id;
    return found.sort(newestFirst).slice(0, sessions).map(toSummary);
  };

  const searchKind = async <Row>(kind: MemoryKind, query: SearchQuery): Promise<Row[]> => {
    const { table } = TABLES[kind];
    const statement = new Statement();
    const filters: string[] = [];
    if (query.project !== undefined) filters.push(`m.project = ${statement.value(withoutNul(query.project))}`);
    if (query.sessionDbId !== undefined) filters.push(`m.session_db_id = ${statement.value(query.sessionDbId)}`);
    if (kind === 'observation' && query.observationType !== undefined) {
      filters.push(`m.type = ${statement.value(withoutNul(query.observationType))}`);
    }
    const offset = query.offset ?? 0;
    const terms = queryWords(query.text ?? '', { prompt: query.match === 'any' });
    if (terms.length === 0) {
      const where = filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`;
      const text = `SELECT ${columnsOf(kind, 'm')} FROM ${table} m ${where} ORDER BY m.created_at DESC, m.id DESC LIMIT ${statement.value(query.limit)} OFFSET ${statement.value(offset)}`;
      return rows<Row>(text, statement.values);
    }
    // Each word a phrase of its own (a word with an underscore is two, side by side, as in FTS5), every
    // one or any of them; parameters only, so no query syntax gets through.
    const tsquery = terms
      .map((term) => `phraseto_tsquery('${TEXT_SEARCH_CONFIG}', ${statement.value(term)})`)
      .join(query.match === 'any' ? ' || ' : ' && ');
    const matches = [`m.document @@ (${tsquery})`, ...filters].join(' AND ');
    const text = `SELECT ${columnsOf(kind, 'm')}
      FROM (SELECT c.id, ts_rank('${RANK_WEIGHTS}', c.document, (${tsquery})) AS score
            FROM (SELECT m.id, m.document FROM ${table} m WHERE ${matches}
                  ORDER BY m.created_at DESC, m.id DESC LIMIT ${RANKED_CANDIDATES}) c
            ORDER BY score DESC, c.id DESC LIMIT ${statement.value(query.limit)} OFFSET ${statement.value(offset)}) r
      JOIN ${table} m ON m.id = r.id
      ORDER BY r.score DESC, m.id DESC`;
    return rows<Row>(text, statement.values);
  };

  async function page(kind: 'observation', query: ListQuery): Promise<Page<Observation>>;
  async function page(kind: 'summary', query: ListQuery): Promise<Page<Summary>>;
  async function page(kind: MemoryKind, query: ListQuery): Promise<Page<Memory>> {
    const statement = new Statement();
    const filters: string[] = [];
    if (query.project !== undefined) filters.push(`project = ${statement.value(withoutNul(query.project))}`);
    if (query.sessionDbId !== undefined) filters.push(`session_db_id = ${statement.value(query.sessionDbId)}`);
    const where = filters.length === 0 ? '' : `WHERE ${filters.join(' AND ')}`;
    const text = `SELECT ${columnsOf(kind)} FROM ${TABLES[kind].table} ${where} ORDER BY created_at DESC, id DESC LIMIT ${statement.value(query.limit + 1)} OFFSET ${statement.value(query.offset)}`;
    const found = await rows<ObservationRow & SummaryRow>(text, statement.values);
    const items: Memory[] = found.slice(0, query.limit).map((row) => (kind === 'observation' ? toObservation(row) : toSummary(row)));
    return { items, hasMore: found.length > query.limit, offset: query.offset, limit: query.limit };
  }

  return {
    recent: async (query) => ({
      observations: await recentObservations(query.projects, query.observations),
      summaries: await latestSummaries(query.projects, query.sessions),
    }),
    async byFile(query) {
      const { exact, endings } = pathMatch(query.paths.map(withoutNul));
      if (exact.length === 0 || query.limit <= 0) return [];
      // Equal to a candidate, or ending with `/<relative candidate>`: a range of the reversed-path index.
      const statement = new Statement();
      const clauses = [
        `path = ANY(${statement.value(exact)}::text[])`,
        ...endings.map(
          (ending) =>
            `(reversed >= ${statement.value(reversed(ending))} AND reversed < ${statement.value(`${reversed(ending)}\u{10FFFF}`)})`,
        ),
      ];
      const projects = (query.projects ?? []).map(withoutNul);
      const projectClause = projects.length === 0 ? '' : ` AND project = ANY(${statement.value(projects)}::text[])`;
      const text =
        `SELECT ${columnsOf('observation')} FROM memory_observations WHERE id IN ` +
        `(SELECT observation_id FROM memory_files WHERE ${clauses.join(' OR ')})${projectClause} ` +
        `ORDER BY created_at DESC, id DESC LIMIT ${statement.value(query.limit)}`;
      return (await rows<ObservationRow>(text, statement.values)).map(toObservation);
    },
    async search(query) {
      const kinds = query.kinds ?? ['observation', 'summary'];
      const [observations, summaries] = await Promise.all([
        kinds.includes('observation') ? searchKind<ObservationRow>('observation', query) : [],
        // A type is an observation's: a search for one finds no summary.
        kinds.includes('summary') && query.observationType === undefined ? searchKind<SummaryRow>('summary', query) : [],
      ]);
      return { observations: observations.map(toObservation), summaries: summaries.map(toSummary) };
    },
    page,
    async get(kind, id) {
      const [row] = await rows<ObservationRow & SummaryRow>(`SELECT ${columnsOf(kind)} FROM ${TABLES[kind].table} WHERE id = $1`, [id]);
      if (row === undefined) return undefined;
      return kind === 'observation' ? toObservation(row) : toSummary(row);
    },
  };
}
