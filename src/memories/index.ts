/**
 * Memories: what the agent's replies say, kept after the session and the log's compaction, and served
 * to the hooks (context at a session's start, a file's history, search). One contract, `MemoryStore`;
 * SQLite beside the event log for the embedded engine.
 */

export { ClaudeMemImportError, importClaudeMem, openClaudeMemDatabase } from './claude-mem-import.js';
export { normalisePath, pathMatch, queryWords } from './matching.js';
export { DEFAULT_OBSERVATION_TYPE, NOTE_TYPE, noteOf, parseReply } from './parse.js';
export { renderContext, renderMatches, renderSearchIndex, timeOf } from './render.js';
export { keepMemoriesFor, type RetentionOptions } from './retention.js';
export { REPLY_EVENT, type ReplyEvent, replyOf } from './source.js';
export { openSqliteMemories, type SqliteMemoryStore } from './sqlite-store.js';
export type * from './types.js';
