/** The event log and session identities: the registry's source of truth across restarts. */
export type { EventRecord, EventStore, StoredSession } from './types.js';
export { createEphemeralStore } from './ephemeral.js';
