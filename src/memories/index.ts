/**
 * Memories: what the agent's replies say, kept after the session and the log's compaction, and served
 * to the hooks (context at a session's start, a file's history, search). One contract, `MemoryStore`;
 * SQLite beside the event log for the embedded engine.
 */
export { DEFAULT_OBSERVATION_TYPE, NOTE_TYPE, parseReply } from './parse.js';
export type * from './types.js';
