/**
 * session-lifecycle: long-lived AI-agent sessions in memory, without leaks.
 *
 * Each session is an xstate v5 actor (active → idle → expiring → disposed). Its idle TTL is a delayed
 * transition, its history is bounded after every append, its agent call is an invoked actor aborted
 * when the session moves on, and the registry evicts idle sessions under capacity or memory pressure.
 *
 * @example
 * ```ts
 * import { createSessionRegistry } from 'session-lifecycle';
 *
 * const registry = createSessionRegistry({
 *   agent: { name: 'echo', run: async (request) => ({ text: `seen: ${request.item.prompt}` }) },
 *   idleTtlMs: 60 * 60_000,
 * });
 * registry.on('disposed', ({ sessionDbId, reason }) => console.log(sessionDbId, 'gone:', reason));
 * const started = await registry.init({ contentSessionId: 'abc', project: 'demo' }, { prompt: 'Fix the login bug' });
 * await registry.enqueue({ contentSessionId: 'abc' }, { kind: 'observation', prompt: 'Edited auth.ts' });
 * ```
 */
export {
  createSessionRegistry,
  describeSession,
  lifecycleOf,
  readV8Heap,
  stateNameOf,
  surplusSessions,
} from './registry/index.js';
export type {
  CommandResult,
  EnqueueResult,
  HeapReader,
  HeapUsage,
  InitResult,
  MemoryPressureOptions,
  PromptRequest,
  Refusal,
  RegistryEvents,
  RegistryLogger,
  RegistryStats,
  SessionDisposed,
  SessionEventProcessed,
  SessionExpiring,
  SessionRegistry,
  SessionRegistryOptions,
  SessionTarget,
  SessionView,
  ShutdownReport,
  SlotPoolStats,
  WorkRequest,
} from './registry/index.js';

export { AgentError } from './agents/index.js';
export type { Agent, AgentErrorKind, AgentReply, AgentRequest } from './agents/index.js';

export { estimateTokens, historyTokens, trimHistory, DEFAULT_HISTORY_LIMITS } from './history/index.js';
export type { ConversationMessage, HistoryLimits, TokenEstimator, TrimResult } from './history/index.js';

export { systemClock } from './clock/index.js';
export type { Clock } from './clock/index.js';

export { createEphemeralStore } from './store/index.js';
export type { EventRecord, EventStore, StoredSession } from './store/index.js';

export { sessionMachine, DEFAULT_SESSION_SETTINGS, backoffDelayMs } from '../machines/session.machine.js';
export type {
  AgentFailure,
  AgentInput,
  AgentOutput,
  Disposal,
  DisposalReason,
  EvictionReason,
  Lifecycle,
  SessionContext,
  SessionCounters,
  SessionEvent,
  SessionInput,
  SessionMachine,
  SessionSettings,
  WorkItem,
  WorkKind,
} from '../machines/session.machine.js';
