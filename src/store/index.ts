/** The event log and session identities: the registry's source of truth across restarts. */
export type {
  CompactionReport,
  DisposalCounts,
  EventRecord,
  EventStore,
  LoggedEvent,
  SnapshotRecord,
  StoreStats,
  StoredSession,
  StreamStatus,
  StreamSummary,
} from './types.js';
export { createEphemeralStore } from './ephemeral.js';
export { createMemoryStore } from './memory.js';
export { openSqliteStore, SCHEMA_VERSION, APPLICATION_ID, UNPARSEABLE, type SqliteStoreOptions } from './sqlite.js';
export { EventStoreError, type EventStoreErrorCode } from './errors.js';
