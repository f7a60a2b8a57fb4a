/**
 * The embedded engine: live sessions in this process, one actor each, with admission, eviction, memory
 * pressure, dormancy and agent slots, over an append-only log; the engine contract over them
 * (`createEmbeddedEngine`) and its composition root from the worker's configuration (`openEmbeddedEngine`).
 */
export { createEmbeddedEngine, EMBEDDED_CAPABILITIES, type EmbeddedEngine, type EmbeddedEngineOptions } from './engine.js';
export type { HeapReader, HeapUsage, MemoryPressureOptions } from './memory.js';
export { readV8Heap, surplusSessions } from './memory.js';
export { openEmbeddedEngine } from './open.js';
export type { RegistryLogger, SessionRegistryOptions } from './options.js';
export { createSessionRegistry } from './registry.js';
export type { SlotPoolStats } from './slots.js';
export type {
  RecoveryReport,
  RegistryEvents,
  RegistryStats,
  SessionExpiring,
  SessionRegistry,
  ShutdownReport,
} from './types.js';
