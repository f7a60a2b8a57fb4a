/**
 * The session engine on Restate: the same session machine, one virtual object per session, its state,
 * timers and agent calls durable in a Restate cluster, agent slots bounded across the cluster.
 * See docs/scale-out.md.
 */
import './polyfill.js';

export type { AgentCall, AgentOutcome } from './agent-service.js';
export type { ClusterResult, ClusterTarget, CommandOptions, ConnectOptions, SessionClusterClient } from './client.js';
export { connectSessionCluster, registerSessionService } from './client.js';
export type { DeliveredEvent, Effect, MachineState, Step } from './machine.js';
export { clusterSessionMachine, startMachine, stepMachine } from './machine.js';
export type { RememberOutcome, ReplyToRemember } from './memory-service.js';
export type { RunningSessionService, SessionServiceOptions } from './service.js';
export { createSessionServices, serviceOptionsFromConfig, startSessionService } from './service.js';
export type { IndexedDisposal, IndexSummary } from './session-index.js';
export type {
  ClusterCommandResult,
  ClusterEnqueueResult,
  ClusterInitResult,
  ClusterRefusal,
  IdentityRecord,
  WorkRequest as ClusterWorkRequest,
} from './session-object.js';
export type { SlotPoolView } from './slots.js';
export type { TimelineEntry, TimelinePage } from './timeline.js';
