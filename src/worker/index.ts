/** The reference worker: claude-mem's HTTP routes over a session registry and its event log. */
export { startWorker, agentFor, packageVersion, reportedVersion, type RunningWorker, type StartWorkerOptions } from './worker.js';
export { createWorkerApp, type WorkerAppOptions } from './app.js';
export { createMetrics, type WorkerMetrics } from './metrics.js';
