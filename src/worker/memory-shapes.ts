/**
 * Owns how memories look over HTTP: claude-mem's row shapes (snake_case; facts, concepts and files as
 * JSON text, as its hook handlers and viewer read them: 13.x's file-context handler parses
 * `files_read`/`files_modified` as JSON strings and reads `created_at_epoch`), plus this worker's own
 * fields (`session_db_id`, `seq`, `items`, `origin`).
 * May not: read memories.
 */
import type { Memory, Observation, Summary } from '../memories/index.js';

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
