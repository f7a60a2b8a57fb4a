/**
 * Owns what the PostgreSQL memory store writes for one memory: its values without what PostgreSQL
 * cannot hold as text (NUL), its search document (the words of each weighted part, lower case, bounded),
 * and the statements that insert an observation with its files, or a summary. Runs in the caller's
 * transaction.
 * May not: decide when or whether to write (postgres-store.ts does), or read.
 */
import type pg from 'pg';
import { normalisePath, searchableText } from './matching.js';
import { TEXT_SEARCH_CONFIG, withoutNul } from './postgres-reads.js';
import { observationValues, type RowOrigin, summaryValues } from './rows.js';
import type { ObservationFields, SummaryFields } from './types.js';

/**
 * Characters of each weighted part of a memory that go into its search document: a tsvector holds at
 * most 1 MB, and four parts of this many characters stay well below it. Longer memories are stored
 * whole; the rest of their text is not searchable.
 */
export const INDEXED_CHARACTERS = 25_000;

const clean = (text: string | null): string | null => (text === null ? null : withoutNul(text));
const cleanList = (list: readonly string[]): string[] => list.map(withoutNul);

function cleanObservation(fields: ObservationFields): ObservationFields {
  return {
    type: withoutNul(fields.type),
    title: clean(fields.title),
    subtitle: clean(fields.subtitle),
    facts: cleanList(fields.facts),
    narrative: clean(fields.narrative),
    concepts: cleanList(fields.concepts),
    filesRead: cleanList(fields.filesRead),
    filesModified: cleanList(fields.filesModified),
    text: clean(fields.text),
  };
}

function cleanSummary(fields: SummaryFields): SummaryFields {
  return {
    request: clean(fields.request),
    investigated: clean(fields.investigated),
    learned: clean(fields.learned),
    completed: clean(fields.completed),
    nextSteps: clean(fields.nextSteps),
    notes: clean(fields.notes),
  };
}

export function cleanOrigin(origin: RowOrigin): RowOrigin {
  return {
    ...origin,
    contentSessionId: clean(origin.contentSessionId),
    project: withoutNul(origin.project),
    items: cleanList(origin.items),
    importKey: clean(origin.importKey),
  };
}

/** One weighted part of a search document: its words, lower case (whatever the database's locale), bounded. */
function documentPart(...parts: (string | null | readonly string[])[]): string {
  const joined = parts
    .flat()
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join('\n');
  return searchableText(joined.slice(0, 2 * INDEXED_CHARACTERS))
    .toLowerCase()
    .slice(0, INDEXED_CHARACTERS);
}

const DOCUMENT = ['A', 'B', 'C', 'D']
  .map((weight, index) => `setweight(to_tsvector('${TEXT_SEARCH_CONFIG}', $${19 + index}), '${weight}')`)
  .join(' || ');

const INSERT_OBSERVATION = `INSERT INTO memory_observations (session_db_id, seq, content_session_id, project, prompt_number, items, type,
    title, subtitle, facts, narrative, concepts, files_read, files_modified, text, created_at, origin, import_key, document)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, ${DOCUMENT})
  ON CONFLICT (import_key) DO NOTHING RETURNING id`;
const INSERT_SUMMARY = `INSERT INTO memory_summaries (session_db_id, seq, content_session_id, project, prompt_number, items, request,
    investigated, learned, completed, next_steps, notes, created_at, origin, import_key, document)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
    ${['A', 'B', 'C'].map((weight, index) => `setweight(to_tsvector('${TEXT_SEARCH_CONFIG}', $${16 + index}), '${weight}')`).join(' || ')})
  ON CONFLICT (import_key) DO NOTHING RETURNING id`;
const INSERT_FILES = `INSERT INTO memory_files (observation_id, path, reversed, modified)
  SELECT $1, path, reversed, modified FROM unnest($2::text[], $3::text[], $4::boolean[]) AS f(path, reversed, modified)`;

const reversed = (text: string) => [...text].reverse().join('');

/** Inserts an observation and its files; false when its import key was imported before. */
export async function insertObservation(client: pg.PoolClient, origin: RowOrigin, raw: ObservationFields): Promise<boolean> {
  const fields = cleanObservation(raw);
  const row = observationValues(origin, fields);
  const result = await client.query<{ id: number }>({
    name: 'memories-insert-observation',
    text: INSERT_OBSERVATION,
    values: [
      row.session_db_id,
      row.seq,
      row.content_session_id,
      row.project,
      row.prompt_number,
      row.items,
      row.type,
      row.title,
      row.subtitle,
      row.facts,
      row.narrative,
      row.concepts,
      row.files_read,
      row.files_modified,
      row.text,
      row.created_at,
      row.origin,
      row.import_key,
      documentPart(fields.title),
      documentPart(fields.subtitle, fields.facts),
      documentPart(fields.narrative, fields.concepts),
      documentPart(fields.text, [...fields.filesRead, ...fields.filesModified]),
    ],
  });
  const id = result.rows[0]?.id;
  if (id === undefined) return false;
  const files = new Map<string, boolean>();
  for (const path of fields.filesRead) files.set(normalisePath(path), files.get(normalisePath(path)) ?? false);
  for (const path of fields.filesModified) files.set(normalisePath(path), true);
  files.delete('');
  if (files.size > 0) {
    await client.query({
      name: 'memories-insert-files',
      text: INSERT_FILES,
      values: [id, [...files.keys()], [...files.keys()].map(reversed), [...files.values()]],
    });
  }
  return true;
}

export async function insertSummary(client: pg.PoolClient, origin: RowOrigin, raw: SummaryFields): Promise<boolean> {
  const fields = cleanSummary(raw);
  const row = summaryValues(origin, fields);
  const result = await client.query({
    name: 'memories-insert-summary',
    text: INSERT_SUMMARY,
    values: [
      row.session_db_id,
      row.seq,
      row.content_session_id,
      row.project,
      row.prompt_number,
      row.items,
      row.request,
      row.investigated,
      row.learned,
      row.completed,
      row.next_steps,
      row.notes,
      row.created_at,
      row.origin,
      row.import_key,
      documentPart(fields.request),
      documentPart(fields.learned, fields.completed),
      documentPart(fields.investigated, fields.nextSteps, fields.notes),
    ],
  });
  return (result.rowCount ?? 0) > 0;
}
