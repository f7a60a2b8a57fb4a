/** Live sessions: one actor each, admission, eviction, memory pressure and agent slots. */
export type { LogHealth } from './journal.js';
export type { HeapReader, HeapUsage, MemoryPressureOptions } from './memory.js';
export { readV8Heap, surplusSessions } from './memory.js';
export type { RegistryLogger, SessionRegistryOptions } from './options.js';
export { createSessionRegistry } from './registry.js';
export type { SlotPoolStats } from './slots.js';
export type {
  CommandResult,
  EnqueueResult,
  InitResult,
  PromptRequest,
  RecoveryReport,
  Refusal,
  RegistryEvents,
  RegistryStats,
  SessionDisposed,
  SessionEventProcessed,
  SessionExpiring,
  SessionRegistry,
  SessionTarget,
  ShutdownReport,
  SlotGranted,
  WorkRequest,
} from './types.js';
