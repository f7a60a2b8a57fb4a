/**
 * Owns reading claude-mem's own database (`~/.claude-mem/claude-mem.db`), read-only: its
 * `observations` and `session_summaries` tables, whatever migrations it has been through (the session
 * column was `sdk_session_id` before it was `memory_session_id`; the structured fields came after the
 * raw `text`), into memories keyed by their row, so that importing twice adds nothing.
 * May not: write anything anywhere (the memory store's `import` does).
 */
import Database from 'better-sqlite3';
import type { ImportedMemory, ImportReport, MemoryStore, ObservationFields, SummaryFields } from './types.js';

/** Rows read (and handed to the store) at a time. */
export const IMPORT_BATCH = 1_000;

export class ClaudeMemImportError extends Error {
  override readonly name = 'ClaudeMemImportError';
}

type Row = Record<string, unknown>;

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value : value == null ? null : String(value);
const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** A JSON array column as claude-mem writes it; plain text (older rows) is one item. */
function list(value: unknown): string[] {
  const raw = text(value);
  if (raw === null) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (Array.isArray(parsed)) return parsed.filter((item) => item !== null && item !== '').map(String);
  } catch {
    // Not JSON: one item.
  }
  return [raw];
}

/** When a row was made: its epoch, or its ISO date, or 0. */
function createdAt(row: Row): number {
  const epoch = number(row.created_at_epoch);
  if (epoch !== null) return epoch < 1e11 ? epoch * 1_000 : epoch;
  const parsed = Date.parse(String(row.created_at ?? ''));
  return Number.isNaN(parsed) ? 0 : parsed;
}

export interface ClaudeMemDatabase {
  readonly path: string;
  readonly counts: { readonly observations: number; readonly summaries: number };
  /** The memories, a batch at a time, oldest first. */
  batches(): Generator<ImportedMemory[]>;
  close(): void;
}

/** Opens claude-mem's database read-only; throws a ClaudeMemImportError that says what is wrong with it. */
export function openClaudeMemDatabase(path: string): ClaudeMemDatabase {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new ClaudeMemImportError(`cannot open claude-mem's database ${path}: ${(error as Error).message}`);
  }
  const columnsOf = (table: string): Set<string> =>
    new Set((db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map((column) => column.name));
  let observationColumns: Set<string>;
  let summaryColumns: Set<string>;
  let sessionColumns: Set<string>;
  try {
    observationColumns = columnsOf('observations');
    summaryColumns = columnsOf('session_summaries');
    sessionColumns = columnsOf('sdk_sessions');
  } catch (error) {
    db.close();
    throw new ClaudeMemImportError(`${path} is not a readable SQLite database: ${(error as Error).message}`);
  }
  if (observationColumns.size === 0 && summaryColumns.size === 0) {
    db.close();
    throw new ClaudeMemImportError(`${path} has neither an observations nor a session_summaries table: it is not claude-mem's database`);
  }
  const sessionColumn = (columns: Set<string>) =>
    columns.has('memory_session_id') ? 'memory_session_id' : columns.has('sdk_session_id') ? 'sdk_session_id' : null;
  /** Claude Code's session id of a memory session, when claude-mem's sessions table says. */
  const contentIds = new Map<string, string>();
  const memoryColumn = sessionColumn(sessionColumns);
  const contentColumn = sessionColumns.has('content_session_id')
    ? 'content_session_id'
    : sessionColumns.has('claude_session_id')
      ? 'claude_session_id'
      : null;
  if (memoryColumn !== null && contentColumn !== null) {
    for (const row of db
      .prepare(`SELECT ${memoryColumn} AS memory, ${contentColumn} AS content FROM sdk_sessions`)
      .iterate() as Iterable<Row>) {
      if (typeof row.memory === 'string' && typeof row.content === 'string') contentIds.set(row.memory, row.content);
    }
  }
  const count = (table: string, columns: Set<string>) =>
    columns.size === 0 ? 0 : (db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number);

  function* rows(table: string, columns: Set<string>): Generator<Row[]> {
    if (columns.size === 0) return;
    const session = sessionColumn(columns);
    const statement = db.prepare(
      `SELECT *${session === null ? ', NULL' : `, ${session}`} AS session_key FROM ${table} WHERE id > ? ORDER BY id LIMIT ?`,
    );
    for (let after = 0; ; ) {
      const page = statement.all(after, IMPORT_BATCH) as Row[];
      if (page.length === 0) return;
      yield page;
      after = Number(page.at(-1)!.id);
    }
  }

  const common = (row: Row, kind: 'observation' | 'summary') => {
    const session = text(row.session_key) ?? 'unknown-session';
    return {
      key: `claude-mem:${session}:${kind}:${String(row.id)}`,
      origin: 'claude-mem' as const,
      contentSessionId: contentIds.get(session) ?? session,
      project: text(row.project) ?? 'unknown',
      promptNumber: number(row.prompt_number),
      createdAt: createdAt(row),
    };
  };
  const observation = (row: Row): ImportedMemory => {
    const fields: ObservationFields = {
      type: text(row.type) ?? 'discovery',
      title: text(row.title),
      subtitle: text(row.subtitle),
      facts: list(row.facts),
      narrative: text(row.narrative),
      concepts: list(row.concepts),
      filesRead: list(row.files_read),
      filesModified: list(row.files_modified),
      text: text(row.text),
    };
    return { kind: 'observation', ...common(row, 'observation'), fields };
  };
  const summary = (row: Row): ImportedMemory => {
    // A summary here has no files of its own: claude-mem's are kept in its notes, so nothing is lost.
    const files = [
      ...(list(row.files_read).length > 0 ? [`files read: ${list(row.files_read).join(', ')}`] : []),
      ...(list(row.files_edited).length > 0 ? [`files edited: ${list(row.files_edited).join(', ')}`] : []),
    ];
    const notes = [text(row.notes), ...files].filter((part): part is string => part !== null);
    const fields: SummaryFields = {
      request: text(row.request),
      investigated: text(row.investigated),
      learned: text(row.learned),
      completed: text(row.completed),
      nextSteps: text(row.next_steps),
      notes: notes.length === 0 ? null : notes.join('\n'),
    };
    return { kind: 'summary', ...common(row, 'summary'), fields };
  };

  return {
    path,
    counts: { observations: count('observations', observationColumns), summaries: count('session_summaries', summaryColumns) },
    *batches() {
      for (const page of rows('observations', observationColumns)) yield page.map(observation);
      for (const page of rows('session_summaries', summaryColumns)) yield page.map(summary);
    },
    close: () => db.close(),
  };
}

/** Imports claude-mem's database into `store`, a batch per transaction; a second import adds nothing. */
export async function importClaudeMem(store: MemoryStore, path: string): Promise<ImportReport & { readonly read: number }> {
  const source = openClaudeMemDatabase(path);
  const added = { observations: 0, summaries: 0 };
  let skipped = 0;
  let read = 0;
  try {
    for (const batch of source.batches()) {
      const report = await store.import(batch);
      added.observations += report.added.observations;
      added.summaries += report.added.summaries;
      skipped += report.skipped;
      read += batch.length;
    }
  } finally {
    source.close();
  }
  return { added, skipped, read };
}
