/**
 * The session engine contract, owned by no engine: `SessionEngine` and its vocabulary (targets,
 * requests, results, refusals, capabilities, events), what opening one from the configuration means,
 * and the pieces both engines share beneath it (the option defaults, the slot queue). The engines
 * implement it in their own folders: the embedded one in src/registry, the Restate one in src/cluster.
 */
export { EngineUnavailableError, WorkerStartError } from './errors.js';
export { durableIdentity, type IdentityRow } from './identity.js';
export type { EngineOpener, EngineOpenOptions, OpenedEngine } from './opening.js';
export {
  count,
  DEFAULT_PROCESS_OPTIONS,
  DEFAULT_SESSION_OPTIONS,
  nonNegativeMs,
  parseOptions,
  positiveMs,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
  sessionOptionsFromConfig,
} from './options.js';
export { grantSlots, releaseSlot, requestSlot, type SlotRequest, type SlotStorage, withdrawSlotRequest } from './slot-queue.js';
export type {
  CommandResult,
  DurableIdentity,
  EngineCapabilities,
  EngineDescription,
  EngineEvents,
  EngineHealth,
  EngineKind,
  EngineNotifications,
  EngineRefusal,
  EngineStartReport,
  EngineStats,
  EngineWorkRequest,
  EnqueueResult,
  InitResult,
  PromptRequest,
  RecordedEvent,
  Refusal,
  SessionDisposed,
  SessionEngine,
  SessionEventProcessed,
  SessionInspection,
  SessionTarget,
  SlotGranted,
  SlotStats,
  WorkRequest,
} from './types.js';
