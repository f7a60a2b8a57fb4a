/** The reference worker: claude-mem's HTTP routes over a session registry and its event log. */

export type { RegisteredRoute } from './api-docs.js';
export { createWorkerApp, type WorkerAppOptions } from './app.js';
export { ENGINES, type EngineEntry } from './engines.js';
export { createMetrics, type WorkerMetrics } from './metrics.js';
export { agentProcessesDir, openProviders, type Providers } from './providers.js';
export {
  packageVersion,
  type RunningWorker,
  reportedVersion,
  type StartWorkerOptions,
  startWorker,
  WorkerStartError,
} from './worker.js';
