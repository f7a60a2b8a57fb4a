import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import { type Agent, createLocalAgent, createOpenAICompatibleAgent } from '../agents/index.js';
import { eventLogPath, type WorkerConfig } from '../config/index.js';
import { dashboardPlugin } from '../dashboard/index.js';
import { connectInspector } from '../inspector/index.js';
import { createSessionRegistry, type RecoveryReport, type SessionRegistry } from '../registry/index.js';
import { type EventStore, openSqliteStore } from '../store/index.js';
import { createWorkerApp } from './app.js';
import { createMetrics } from './metrics.js';

export interface RunningWorker {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly registry: SessionRegistry;
  readonly store: EventStore;
  readonly recovery: RecoveryReport;
  readonly logger: Logger;
  /**
   * Stops accepting requests, lets the ones in flight answer, gives in-flight agent calls `drainMs`
   * (no new call starts), stops every session without disposing it, and closes the log.
   */
  stop(options?: { readonly drainMs?: number }): Promise<void>;
}

export interface StartWorkerOptions {
  readonly logger?: Logger;
  /** Overrides the provider the configuration names (tests, library users). */
  readonly agent?: Agent;
  readonly version?: string;
}

/** This package's version, from its package.json (two levels up from src/worker, or dist/src/worker). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'session-lifecycle' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/**
 * The version GET /api/version reports. claude-mem's `start` command compares it with its installed
 * plugin and asks a mismatching worker to shut down, so where the plugin is installed its version is
 * reported; otherwise this package's.
 */
export function reportedVersion(home = homedir()): string {
  const plugin = join(home, '.claude', 'plugins', 'marketplaces', 'thedotmack', 'package.json');
  try {
    const version = (JSON.parse(readFileSync(plugin, 'utf8')) as { version?: unknown }).version;
    if (typeof version === 'string' && version !== '') return version;
  } catch {
    // Not installed: our own version.
  }
  return packageVersion();
}

export function agentFor(config: WorkerConfig): Agent {
  if (config.provider === 'local') return createLocalAgent();
  return createOpenAICompatibleAgent({
    baseUrl: config.openaiBaseUrl!,
    model: config.model!,
    timeoutMs: config.agentTimeoutMs,
    ...(config.openaiApiKey === undefined ? {} : { apiKey: config.openaiApiKey }),
  });
}

/** The worker could not start for a reason the user can act on; the message says what to do. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}

function listenFailure(error: unknown, config: WorkerConfig): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    return new WorkerStartError(
      `port ${config.port} on ${config.host} is already in use (another worker, or another program): stop it, or choose another port with CLAUDE_MEM_WORKER_PORT or --port`,
    );
  }
  if (code === 'EACCES')
    return new WorkerStartError(`not allowed to listen on ${where}: ports below 1024 need privileges; choose another port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new WorkerStartError(`cannot listen on ${where}: ${config.host} is not an address of this machine (CLAUDE_MEM_WORKER_HOST)`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Opens the log, recovers every session in it, and serves the HTTP API. */
export async function startWorker(config: WorkerConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'session-lifecycle', pid: process.pid } });
  const version = options.version ?? reportedVersion();
  // First of all, before the port: ownership of the log (a second worker on this data directory stops here).
  const store = openSqliteStore(eventLogPath(config.dataDir), { owner: { port: config.port, host: config.host, version } });
  const stale = store.ownership?.staleRecord;
  if (stale) {
    logger.warn(
      { previousOwner: stale },
      'the previous worker on this log did not stop cleanly (killed, or the machine went down); its sessions are recovered from the log',
    );
  }
  const metrics = createMetrics();
  const inspector = config.inspectUrl === undefined ? undefined : connectInspector(config.inspectUrl);
  const agent = options.agent ?? agentFor(config);
  const registry = createSessionRegistry({
    agent,
    store: metrics.timed(store),
    idleTtlMs: config.sessionTtlMs,
    graceMs: config.graceMs,
    maxHistoryMessages: config.maxConversationHistory,
    maxHistoryTokens: config.maxConversationTokens,
    maxActiveSessions: config.maxActiveSessions,
    maxConcurrentAgents: config.maxConcurrentAgents,
    maxQueuedItems: config.maxQueuedItems,
    maxBatchItems: config.maxBatchItems,
    agentTimeoutMs: config.agentTimeoutMs,
    memoryPressure: { limitPercent: config.memoryLimitPercent, targetPercent: config.memoryTargetPercent },
    snapshotEvery: config.snapshotEvery,
    retentionMs: config.eventRetentionMs,
    logger: logger.child({ component: 'registry' }),
    ...(inspector === undefined ? {} : { inspect: inspector.inspect }),
  });
  metrics.observe(registry);

  let port = config.port;
  const { app, markReady } = createWorkerApp({
    registry,
    store,
    metrics,
    logger: logger.child({ component: 'http' }),
    host: config.host,
    port: () => port,
    token: config.token,
    bodyLimitBytes: config.bodyLimitBytes,
    skipTools: config.skipTools,
    version,
  });

  await app.register(dashboardPlugin, {
    registry,
    store,
    version,
    idleTtlMs: config.sessionTtlMs,
    graceMs: config.graceMs,
    maxActiveSessions: config.maxActiveSessions,
    maxConcurrentAgents: config.maxConcurrentAgents,
    memoryLimitPercent: config.memoryLimitPercent,
  });

  const stopEverything = async (drainMs: number) => {
    await registry.shutdown({ drainMs });
    store.close();
    inspector?.stop();
  };
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await stopEverything(0);
    throw listenFailure(error, config);
  }
  const address = app.server.address();
  if (address !== null && typeof address === 'object') port = address.port;
  if (port !== config.port) store.ownership?.update({ port });
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info(
    { url, dataDir: config.dataDir, provider: agent.name, version, inspect: config.inspectUrl ?? false },
    'worker listening; recovering sessions',
  );

  const recovery = await registry.recover();
  markReady();
  // A wildcard bind is reached on loopback too; the browser needs an address it can open.
  const dashboard = `${['0.0.0.0', '::', '[::]'].includes(config.host) ? `http://127.0.0.1:${port}` : url}/`;
  logger.info(
    {
      dashboard,
      sessions: recovery.sessions,
      restored: recovery.restored,
      eventsReplayed: recovery.eventsReplayed,
      ms: Math.round(recovery.durationMs),
    },
    `worker ready; dashboard at ${dashboard}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    registry,
    store,
    recovery,
    logger,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        logger.info('worker stopping: no new requests, in-flight agent calls get a moment to finish');
        await app.close();
        await stopEverything(stopOptions.drainMs ?? 10_000);
        logger.info('worker stopped; every live session is in the log for the next start');
      })();
      return stopping;
    },
  };
}
