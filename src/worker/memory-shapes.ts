/**
 * Owns how memories look over HTTP: claude-mem's row shapes (snake_case; facts, concepts and files as
 * JSON text, as its hook handlers and viewer read them: 13.x's file-context handler parses
 * `files_read`/`files_modified` as JSON strings and reads `created_at_epoch`), plus this worker's own
 * fields (`session_db_id`, `seq`, `items`, `origin`).
 * May not: read memories.
 */
import { z } from 'zod';
import type { Memory, Observation, Summary } from '../memories/index.js';

const epoch = z.number().describe('Milliseconds since the Unix epoch.');
const jsonList = z.string().describe('A JSON array of strings, as text (as claude-mem stores it).');
/** Fields both kinds share. */
const rowBase = {
  id: z.number().int(),
  memory_session_id: z.string().nullable(),
  content_session_id: z.string().nullable().describe('The Claude Code session it came from (null when an import did not say).'),
  session_db_id: z.number().int().nullable().describe("This worker's session (null for an imported memory)."),
  project: z.string(),
  prompt_number: z.number().int().nullable(),
  created_at: z.string().describe('ISO 8601.'),
  created_at_epoch: epoch,
  seq: z.number().int().nullable().describe("The reply's event in the session's log (null for an imported memory)."),
  items: z.array(z.string()).describe('The work items the reply answered.'),
  origin: z.string().describe('Where it came from: this worker, or an import.'),
};

/** An observation over HTTP: claude-mem's row shape. */
export const observationAnswer = z
  .object({
    ...rowBase,
    type: z.string().describe('`discovery`, `change`, `bugfix`, `feature`, `decision`, … or `note` for a reply that could not be read.'),
    title: z.string().nullable(),
    subtitle: z.string().nullable(),
    narrative: z.string().nullable(),
    text: z.string().nullable().describe('The raw text, for a note.'),
    facts: jsonList,
    concepts: jsonList,
    files_read: jsonList,
    files_modified: jsonList,
  })
  .describe('An observation.');

/** A session summary over HTTP: claude-mem's row shape. */
export const summaryAnswer = z
  .object({
    ...rowBase,
    session_id: z.string().nullable(),
    request: z.string().nullable(),
    investigated: z.string().nullable(),
    learned: z.string().nullable(),
    completed: z.string().nullable(),
    next_steps: z.string().nullable(),
    notes: z.string().nullable(),
  })
  .describe('A session summary.');

export function observationRow(observation: Observation) {
  return {
    id: observation.id,
    memory_session_id: observation.contentSessionId,
    content_session_id: observation.contentSessionId,
    session_db_id: observation.sessionDbId,
    project: observation.project,
    type: observation.type,
    title: observation.title,
    subtitle: observation.subtitle,
    narrative: observation.narrative,
    text: observation.text,
    facts: JSON.stringify(observation.facts),
    concepts: JSON.stringify(observation.concepts),
    files_read: JSON.stringify(observation.filesRead),
    files_modified: JSON.stringify(observation.filesModified),
    prompt_number: observation.promptNumber,
    created_at: new Date(observation.createdAt).toISOString(),
    created_at_epoch: observation.createdAt,
    seq: observation.seq,
    items: observation.items,
    origin: observation.origin,
  };
}

export function summaryRow(summary: Summary) {
  return {
    id: summary.id,
    memory_session_id: summary.contentSessionId,
    session_id: summary.contentSessionId,
    content_session_id: summary.contentSessionId,
    session_db_id: summary.sessionDbId,
    project: summary.project,
    request: summary.request,
    investigated: summary.investigated,
    learned: summary.learned,
    completed: summary.completed,
    next_steps: summary.nextSteps,
    notes: summary.notes,
    prompt_number: summary.promptNumber,
    created_at: new Date(summary.createdAt).toISOString(),
    created_at_epoch: summary.createdAt,
    seq: summary.seq,
    items: summary.items,
    origin: summary.origin,
  };
}

export function memoryRow(memory: Memory) {
  return memory.kind === 'observation' ? observationRow(memory) : summaryRow(memory);
}
