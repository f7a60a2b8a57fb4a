/**
 * The session engine: one interface over whatever runs the sessions, so that the worker's routes and
 * the dashboard do not know which one it is. `createEmbeddedEngine` wraps this process's registry and
 * its log (the default); `connectRestateEngine` sends every command to a Restate cluster's ingress
 * (docs/scale-out.md).
 */
export { createEmbeddedEngine, type EmbeddedEngineOptions } from './embedded.js';
export { EngineUnavailableError } from './errors.js';
export { connectRestateEngine, type RestateEngineOptions } from './restate.js';
export type {
  DurableIdentity,
  EngineDescription,
  EngineEvents,
  EngineHealth,
  EngineKind,
  EngineNotifications,
  EngineRefusal,
  EngineStartReport,
  EngineStats,
  EngineWorkRequest,
  RecordedEvent,
  SessionEngine,
  SessionInspection,
} from './types.js';
