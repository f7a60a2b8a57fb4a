/**
 * session-lifecycle: long-lived AI-agent sessions in memory, without leaks.
 *
 * Each session is an xstate v5 actor (active → idle → expiring → disposed). Its idle TTL is a delayed
 * transition, its history is bounded after every append, its agent call (one per batch of queued
 * observations, answered by one reply) is aborted when the session moves on, and the registry evicts
 * idle sessions under capacity or memory pressure.
 *
 * @example
 * ```ts
 * import { createSessionRegistry } from 'session-lifecycle';
 *
 * const registry = createSessionRegistry({
 *   // `request.item.prompt` is the batch's user message; `request.items` lists the items it answers.
 *   agent: { name: 'echo', run: async (request) => ({ text: `seen ${request.items.length}: ${request.item.prompt}` }) },
 *   idleTtlMs: 60 * 60_000,
 * });
 * registry.on('disposed', ({ sessionDbId, reason }) => console.log(sessionDbId, 'gone:', reason));
 * const started = await registry.init({ contentSessionId: 'abc', project: 'demo' }, { prompt: 'Fix the login bug' });
 * await registry.enqueue({ contentSessionId: 'abc' }, { kind: 'observation', prompt: 'Edited auth.ts' });
 * ```
 *
 * The same sessions can run in a Restate cluster instead (docs/scale-out.md): serve the session
 * services with `startSessionService({ agent })` and register them (`registerSessionService`). Code
 * that should not care which takes a {@link SessionEngine}: `createEmbeddedEngine({ registry, store })`
 * over the registry above, or `connectRestateEngine({ ingressUrl })`; the worker's routes and dashboard do so.
 *
 * What the agent replies is kept as memories with `openSqliteMemories(store)` on the SQLite log
 * (`openSqliteStore`): each reply's observations and summaries are stored in the commit that logs it, and
 * read back through the {@link MemoryStore} (`recent`, `byFile`, `search`). On Restate they go to
 * PostgreSQL: `openPostgresMemories({ connectionString })`, given to `startSessionService({ memories })`
 * (which stores each reply once) and to `connectRestateEngine({ memories })` (which reads them).
 */

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
  SessionTag,
  WorkItem,
  WorkKind,
} from '../machines/session.machine.js';
export {
  backoffDelayMs,
  DEFAULT_BATCH_QUIET_MS,
  DEFAULT_MAX_BATCH_ITEMS,
  DEFAULT_SESSION_SETTINGS,
  DEFAULT_WORKER_BATCH_WINDOW_MS,
  DISPOSAL_REASONS,
  nextBatchSize,
  sessionMachine,
} from '../machines/session.machine.js';
export { hasTag, LIVE_STATES } from '../machines/session.states.js';
export type {
  Agent,
  AgentErrorKind,
  AgentReply,
  AgentRequest,
  AgentUsage,
  ChildProcessesOptions,
  ClaudeAgentOptions,
  FallbackOptions,
  GeminiAgentOptions,
  OpenAICompatibleOptions,
  ToolUse,
} from './agents/index.js';
export {
  AgentError,
  ChildProcesses,
  chatMessages,
  createClaudeAgent,
  createFallbackAgent,
  createGeminiAgent,
  createLocalAgent,
  createOpenAICompatibleAgent,
  initPrompt,
  observationPrompt,
  summaryPrompt,
} from './agents/index.js';
export type { Clock } from './clock/index.js';
export { systemClock } from './clock/index.js';
export type { RestateEngineOptions, RunningSessionService, SessionServiceOptions } from './cluster/index.js';
export {
  connectRestateEngine,
  createSessionServices,
  openRestateEngine,
  RESTATE_CAPABILITIES,
  registerSessionService,
  startSessionService,
} from './cluster/index.js';
export type { EngineName, LoadConfigOptions, RestateSettings, SettingKey, WorkerConfig } from './config/index.js';
export { ConfigError, eventLogPath, loadConfig, SETTING_KEYS, SETTINGS } from './config/index.js';
export type {
  DashboardOptions,
  SessionDetail,
  SessionRow,
  StreamLimits,
  StreamMessage,
} from './dashboard/index.js';
export { DASHBOARD_PUBLIC_PATHS, DEFAULT_STREAM_LIMITS, dashboardPlugin } from './dashboard/index.js';
export type {
  CommandResult,
  DurableIdentity,
  EngineCapabilities,
  EngineDescription,
  EngineEvents,
  EngineHealth,
  EngineHealth as LogHealth,
  EngineKind,
  EngineNotifications,
  EngineOpener,
  EngineOpenOptions,
  EngineRefusal,
  EngineStartReport,
  EngineStats,
  EngineWorkRequest,
  EnqueueResult,
  InitResult,
  OpenedEngine,
  PromptRequest,
  RecordedEvent,
  Refusal,
  ResolvedSessionOptions,
  SessionDisposed,
  SessionEngine,
  SessionEventProcessed,
  SessionInspection,
  SessionOptions,
  SessionTarget,
  SlotGranted,
  SlotStats,
  WorkRequest,
} from './engine/index.js';
export {
  DEFAULT_PROCESS_OPTIONS,
  DEFAULT_SESSION_OPTIONS,
  EngineUnavailableError,
  resolveSessionOptions,
  sessionOptionsFromConfig,
} from './engine/index.js';
export type { ConversationMessage, HistoryLimits, TokenEstimator, TrimResult } from './history/index.js';
export { DEFAULT_HISTORY_LIMITS, DEFAULT_HISTORY_LOW_WATER, estimateTokens, historyTokens, trimHistory } from './history/index.js';
export type { InspectorRelay } from './inspector/index.js';
export { connectInspector, startInspectorRelay } from './inspector/index.js';
export type {
  ByFileQuery,
  ImportedMemory,
  ImportReport,
  Memory,
  MemoryKind,
  MemoryStats,
  MemoryStore,
  MemoryStoreDescription,
  Observation,
  ObservationFields,
  ParsedReply,
  PostgresMemoryOptions,
  PostgresMemoryStore,
  RecentQuery,
  RememberResult,
  ReplySource,
  SearchQuery,
  SearchResult,
  SqliteMemoryStore,
  Summary,
  SummaryFields,
} from './memories/index.js';
export {
  importClaudeMem,
  keepMemoriesFor,
  MemoryRejectedError,
  MemoryStoreUnavailableError,
  openPostgresMemories,
  openSqliteMemories,
  parseReply,
  renderContext,
  replyOf,
} from './memories/index.js';
export type {
  EmbeddedEngine,
  EmbeddedEngineOptions,
  HeapReader,
  HeapUsage,
  MemoryPressureOptions,
  RecoveryReport,
  RegistryEvents,
  RegistryLogger,
  RegistryStats,
  SessionExpiring,
  SessionRegistry,
  SessionRegistryOptions,
  ShutdownReport,
  SlotPoolStats,
} from './registry/index.js';
export {
  createEmbeddedEngine,
  createSessionRegistry,
  EMBEDDED_CAPABILITIES,
  openEmbeddedEngine,
  readV8Heap,
  surplusSessions,
} from './registry/index.js';
export type { RebuiltSession, SessionTimeline, SkippedEvent, TimelineEntry } from './replay/index.js';
export { formatTimeline, rebuildSession, sessionTimeline } from './replay/index.js';
export type { SessionView } from './session/index.js';
export { describeSession, eventLabel, lifecycleOf, stateNameOf } from './session/index.js';
export type {
  CommitFailure,
  CompactionReport,
  EventRecord,
  EventStore,
  EventStoreErrorCode,
  LoggedEvent,
  OwnerRecord,
  SnapshotRecord,
  SqliteEventStore,
  SqliteStoreOptions,
  StoredSession,
  StoreStats,
  StreamStatus,
  StreamSummary,
} from './store/index.js';
export { createEphemeralStore, createMemoryStore, EventStoreError, openSqliteStore, SCHEMA_VERSION } from './store/index.js';
export type { EngineEntry, RunningWorker, StartWorkerOptions, WorkerAppOptions, WorkerMetrics } from './worker/index.js';
export { createMetrics, createWorkerApp, ENGINES, startWorker, WorkerStartError } from './worker/index.js';
