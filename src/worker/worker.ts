import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Agent } from '../agents/index.js';
import { claudeMemStopCommand, describeOwner, findClaudeMemPlugins, portOwner } from '../claude-mem/index.js';
import { describeMisspelling, isLoopback, type WorkerConfig } from '../config/index.js';
import { dashboardPlugin } from '../dashboard/index.js';
import { type EngineStartReport, type OpenedEngine, type SessionEngine, WorkerStartError } from '../engine/index.js';
import { keepMemoriesFor } from '../memories/index.js';
import type { RegisteredRoute } from './api-docs.js';
import { createWorkerApp } from './app.js';
import { ENGINES } from './engines.js';
import { createMetrics } from './metrics.js';
import { openProviders, type Providers } from './providers.js';

export { WorkerStartError };

export interface RunningWorker {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  /** Every route the worker serves, with its schema (what the API reference is made of). */
  readonly routes: readonly RegisteredRoute[];
  /** Whatever runs the sessions (CLAUDE_MEM_ENGINE): the routes and the dashboard see only this. */
  readonly engine: SessionEngine;
  readonly started: EngineStartReport;
  readonly logger: Logger;
  /**
   * Stops accepting requests, lets the ones in flight answer, then stops the engine: embedded, in-flight
   * agent calls get `drainMs` (no new call starts), every session stops without being disposed, and the
   * log closes; on Restate, the session services this process serves close (Restate retries their
   * calls elsewhere, or here after a restart).
   */
  stop(options?: { readonly drainMs?: number }): Promise<void>;
}

export interface StartWorkerOptions {
  /** Where the worker logs. Default pino on stdout at CLAUDE_MEM_LOG_LEVEL: one JSON line per event, as log shippers read. */
  readonly logger?: Logger;
  /** Overrides the provider the configuration names (tests, library users). Default the configuration's provider chain. */
  readonly agent?: Agent;
  /** What GET /api/version answers. Default reportedVersion(): the installed claude-mem plugin's, whose `start` compares it, else this package's. */
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

/** Once per start: the keys set aside (claude-mem's, at debug level), and a warning for each that looks like a misspelling of ours. */
function logSettingsNotices(config: WorkerConfig, logger: Logger): void {
  const { ignoredKeys, misspellings } = config.notices;
  if (ignoredKeys.length > 0) {
    logger.debug(
      { file: config.settingsFile, keys: ignoredKeys },
      `settings.json: ${ignoredKeys.length} keys this worker does not use (claude-mem's own), ignored`,
    );
  }
  for (const misspelling of misspellings) logger.warn({ key: misspelling.key, meant: misspelling.meant }, describeMisspelling(misspelling));
}

async function listenFailure(error: unknown, config: WorkerConfig): Promise<Error> {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  if (code === 'EADDRINUSE') {
    // Which program holds it, when it answers as claude-mem's worker or as this one: the user's next step differs.
    const owner = await portOwner(isLoopback(config.host) ? config.host : '127.0.0.1', config.port);
    if (owner.kind === 'claude-mem' || owner.kind === 'session-lifecycle') {
      const stop =
        owner.kind === 'claude-mem'
          ? `stop it with \`${claudeMemStopCommand(findClaudeMemPlugins(process.env)[0])}\` (session-lifecycle doctor says more)`
          : 'stop it, or give this one its own CLAUDE_MEM_DATA_DIR and port';
      return new WorkerStartError(
        `port ${config.port} on ${config.host} is served by ${describeOwner(owner)}: ${stop}, or choose another port with CLAUDE_MEM_WORKER_PORT or --port`,
      );
    }
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

/** Opens the engine (recovering the log's sessions, or reaching the Restate cluster), and serves the HTTP API. */
export async function startWorker(config: WorkerConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { service: 'session-lifecycle', pid: process.pid } });
  const version = options.version ?? reportedVersion();
  logSettingsNotices(config, logger);
  const metrics = createMetrics();
  // First of all, before the port: the embedded engine owns its log (a second worker on this data directory stops here).
  const providers: Pick<Providers, 'agent' | 'close'> = options.agent
    ? { agent: options.agent, close: async () => {} }
    : openProviders(config, { logger: logger.child({ component: 'agent' }) });
  const { agent } = providers;
  let opened: OpenedEngine;
  try {
    opened = await ENGINES[config.engine].open(config, { agent, logger, version, timeCommit: metrics.commitTimer });
  } catch (error) {
    await providers.close();
    throw error;
  }
  const { engine } = opened;
  metrics.observe(engine);

  let port = config.port;
  let app: Awaited<ReturnType<typeof createWorkerApp>>['app'] | undefined;
  let url = '';
  let started: EngineStartReport;
  let markReady: () => void;
  let routes: readonly RegisteredRoute[] = [];
  // Whatever fails from here on, nothing the start opened stays open: the port, the log's lock, the session services.
  try {
    ({ app, markReady, routes } = await createWorkerApp({
      engine,
      metrics,
      logger: logger.child({ component: 'http' }),
      host: config.host,
      port: () => port,
      token: config.token,
      bodyLimitBytes: config.bodyLimitBytes,
      skipTools: config.skipTools,
      version,
      serviceVersion: packageVersion(),
      context: config.context,
    }));

    await app.register(dashboardPlugin, {
      engine,
      version,
      idleTtlMs: config.sessionTtlMs,
      graceMs: config.graceMs,
      maxActiveSessions: config.maxActiveSessions,
      maxConcurrentAgents: config.maxConcurrentAgents,
      memoryLimitPercent: config.memoryLimitPercent,
    });

    try {
      await app.listen({ host: config.host, port: config.port });
    } catch (error) {
      throw await listenFailure(error, config);
    }
    const address = app.server.address();
    if (address !== null && typeof address === 'object') port = address.port;
    opened.listening(port);
    url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info(
      { url, engine: engine.description.kind, location: engine.description.location, provider: agent.name, version },
      `worker listening; ${engine.description.starting}`,
    );

    started = await engine.start();
  } catch (error) {
    await app?.close();
    await opened.stop(0);
    await providers.close();
    throw error;
  }
  markReady();
  const stopRetention =
    engine.memories === null
      ? () => {}
      : keepMemoriesFor(engine.memories, {
          retentionMs: config.memoryRetentionMs,
          forgot: (counts) => logger.info({ ...counts }, 'memories past CLAUDE_MEM_MEMORY_RETENTION_DAYS deleted'),
          failed: (error) => logger.error({ err: error }, 'deleting memories past their retention failed; tried again in an hour'),
        });
  // A wildcard bind is reached on loopback too; the browser needs an address it can open.
  const dashboard = `${['0.0.0.0', '::', '[::]'].includes(config.host) ? `http://127.0.0.1:${port}` : url}/`;
  logger.info(
    { dashboard, sessions: started.sessions, ...started.detail, ms: Math.round(started.durationMs) },
    `worker ready; dashboard at ${dashboard}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    routes,
    engine,
    started,
    logger,
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        logger.info('worker stopping: no new requests, in-flight agent calls get a moment to finish');
        await app.close();
        stopRetention();
        await opened.stop(stopOptions.drainMs ?? 10_000);
        // Every call was aborted by now; whatever provider process is still exiting is killed and waited for.
        await providers.close();
        logger.info(`worker stopped; ${engine.description.afterStop}`);
      })();
      return stopping;
    },
  };
}
