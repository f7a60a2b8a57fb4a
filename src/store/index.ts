/** The event log and session identities: the registry's source of truth across restarts. */

export { createEphemeralStore } from './ephemeral.js';
export { EventStoreError, type EventStoreErrorCode } from './errors.js';
export { createMemoryStore } from './memory.js';
export type { OwnerRecord, Ownership } from './ownership.js';
export { openSqliteStore, type SqliteEventStore, UNPARSEABLE } from './sqlite.js';
export { APPLICATION_ID, SCHEMA_VERSION, type SqliteStoreOptions } from './sqlite-file.js';
export type {
  CommitFailure,
  CompactionReport,
  DisposalCounts,
  EventRecord,
  EventStore,
  LoggedEvent,
  LogProjection,
  ProjectedEvent,
  SnapshotRecord,
  StoredSession,
  StoreStats,
  StreamStatus,
  StreamSummary,
} from './types.js';
