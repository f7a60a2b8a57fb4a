/**
 * The session engine on Restate: the same session machine and command rules, one virtual object per
 * session, its state, timers and agent calls durable in a Restate cluster, agent slots bounded across
 * the cluster; the engine contract over its ingress (`connectRestateEngine`) and its composition root
 * from the worker's configuration (`openRestateEngine`). See docs/scale-out.md.
 */
import './polyfill.js';

export type { AgentCall, AgentOutcome } from './agent-service.js';
export { connectRestateEngine, RESTATE_CAPABILITIES, type RestateEngineOptions } from './engine.js';
export { SERVICE_NAMES, SLOT_POOL_KEY, slotsApi } from './handles.js';
export type { DeliveredEvent, Effect, MachineState, Step } from './machine.js';
export { clusterSessionMachine, startMachine, stepMachine } from './machine.js';
export type { RememberOutcome, ReplyToRemember } from './memory-service.js';
export { openMemoryDatabase, openRestateEngine, serveSessionServices } from './open.js';
export type { RunningSessionService, SessionServiceOptions } from './service.js';
export { createSessionServices, registerSessionService, serviceOptionsFromConfig, startSessionService } from './service.js';
export type { IndexedDisposal, IndexSummary } from './session-index.js';
export type { IdentityRecord } from './session-object.js';
export type { SlotPoolView } from './slots.js';
export type { TimelineEntry, TimelinePage } from './timeline.js';
