/**
 * Memories: what the agent's replies say, kept after the session and the log's compaction, and served
 * to the hooks (context at a session's start, a file's history, search). One contract, `MemoryStore`;
 * SQLite beside the event log for the embedded engine, PostgreSQL shared by a Restate cluster.
 */

export { ClaudeMemImportError, importClaudeMem, openClaudeMemDatabase } from './claude-mem-import.js';
export { MemoryRejectedError, MemoryStoreUnavailableError } from './errors.js';
export { normalisePath, pathMatch, queryWords, searchableText } from './matching.js';
export { DEFAULT_OBSERVATION_TYPE, NOTE_TYPE, noteOf, parseReply } from './parse.js';
export {
  describeConnection,
  openPostgresMemories,
  type PostgresMemoryOptions,
  type PostgresMemoryStore,
} from './postgres-store.js';
export { INDEXED_CHARACTERS } from './postgres-writes.js';
export { renderContext, renderMatches, renderSearchIndex, timeOf } from './render.js';
export { keepMemoriesFor, type RetentionOptions } from './retention.js';
export { REPLY_EVENT, type ReplyEvent, replyOf } from './source.js';
export { openSqliteMemories, type SqliteMemoryStore } from './sqlite-store.js';
export type * from './types.js';
