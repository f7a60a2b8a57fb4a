/**
 * Owns how a memory row of either SQL store becomes a memory, and a memory becomes a row's values: the
 * same columns in SQLite and PostgreSQL, lists as JSON text (PostgreSQL keeps them as jsonb and reads
 * them back as text).
 * May not: run statements.
 */
import type { MemoryOrigin, Observation, ObservationFields, Summary, SummaryFields } from './types.js';

export interface ObservationRow {
  id: number;
  session_db_id: number | null;
  seq: number | null;
  content_session_id: string | null;
  project: string;
  prompt_number: number | null;
  items: string;
  type: string;
  title: string | null;
  subtitle: string | null;
  facts: string;
  narrative: string | null;
  concepts: string;
  files_read: string;
  files_modified: string;
  text: string | null;
  created_at: number;
  origin: string;
}

export interface SummaryRow {
  id: number;
  session_db_id: number | null;
  seq: number | null;
  content_session_id: string | null;
  project: string;
  prompt_number: number | null;
  items: string;
  request: string | null;
  investigated: string | null;
  learned: string | null;
  completed: string | null;
  next_steps: string | null;
  notes: string | null;
  created_at: number;
  origin: string;
}

/** A JSON array column; anything else (a row written by hand) reads as what it holds, or nothing. */
function list(value: string | null): string[] {
  if (value === null || value === '') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : [String(parsed)];
  } catch {
    return [value];
  }
}

export function toObservation(row: ObservationRow): Observation {
  return {
    kind: 'observation',
    id: row.id,
    sessionDbId: row.session_db_id,
    seq: row.seq,
    contentSessionId: row.content_session_id,
    project: row.project,
    promptNumber: row.prompt_number,
    items: list(row.items),
    type: row.type,
    title: row.title,
    subtitle: row.subtitle,
    facts: list(row.facts),
    narrative: row.narrative,
    concepts: list(row.concepts),
    filesRead: list(row.files_read),
    filesModified: list(row.files_modified),
    text: row.text,
    createdAt: row.created_at,
    origin: row.origin as MemoryOrigin,
  };
}

export function toSummary(row: SummaryRow): Summary {
  return {
    kind: 'summary',
    id: row.id,
    sessionDbId: row.session_db_id,
    seq: row.seq,
    contentSessionId: row.content_session_id,
    project: row.project,
    promptNumber: row.prompt_number,
    items: list(row.items),
    request: row.request,
    investigated: row.investigated,
    learned: row.learned,
    completed: row.completed,
    nextSteps: row.next_steps,
    notes: row.notes,
    createdAt: row.created_at,
    origin: row.origin as MemoryOrigin,
  };
}

/** Where a memory comes from, as the insert statements take it. */
export interface RowOrigin {
  readonly sessionDbId: number | null;
  readonly seq: number | null;
  readonly contentSessionId: string | null;
  readonly project: string;
  readonly promptNumber: number | null;
  readonly items: readonly string[];
  readonly createdAt: number;
  readonly origin: MemoryOrigin;
  readonly importKey: string | null;
}

function common(origin: RowOrigin) {
  return {
    session_db_id: origin.sessionDbId,
    seq: origin.seq,
    content_session_id: origin.contentSessionId,
    project: origin.project,
    prompt_number: origin.promptNumber,
    items: JSON.stringify(origin.items),
    created_at: origin.createdAt,
    origin: origin.origin,
    import_key: origin.importKey,
  };
}

export function observationValues(origin: RowOrigin, fields: ObservationFields) {
  return {
    ...common(origin),
    type: fields.type,
    title: fields.title,
    subtitle: fields.subtitle,
    facts: JSON.stringify(fields.facts),
    narrative: fields.narrative,
    concepts: JSON.stringify(fields.concepts),
    files_read: JSON.stringify(fields.filesRead),
    files_modified: JSON.stringify(fields.filesModified),
    text: fields.text,
  };
}

export function summaryValues(origin: RowOrigin, fields: SummaryFields) {
  return {
    ...common(origin),
    request: fields.request,
    investigated: fields.investigated,
    learned: fields.learned,
    completed: fields.completed,
    next_steps: fields.nextSteps,
    notes: fields.notes,
  };
}
