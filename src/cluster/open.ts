/**
 * The Restate engine's composition root: from the worker's configuration, the memory database
 * (CLAUDE_MEM_POSTGRES_URL), the session services when this process serves them (with
 * CLAUDE_MEM_RESTATE_ADMIN_URL: served and registered), the engine over the ingress, and a log of
 * Restate going out of reach and coming back; and how they stop. `session-lifecycle restate-service`
 * uses the same pieces to serve the services alone. No lock: several workers may front one cluster.
 * May not: answer requests (the worker's routes do, through the engine).
 */
import type { Logger } from 'pino';
import type { Agent } from '../agents/index.js';
import type { WorkerConfig } from '../config/index.js';
import { type EngineHealth, type EngineOpener, type SessionEngine, WorkerStartError } from '../engine/index.js';
import {
  describeConnection,
  type MemoryStore,
  MemoryStoreUnavailableError,
  openPostgresMemories,
  type PostgresMemoryStore,
} from '../memories/index.js';
import { connectRestateEngine } from './engine.js';
import { type RunningSessionService, registerSessionService, serviceOptionsFromConfig, startSessionService } from './service.js';

/**
 * Serves the session services (the agent calls run here) on CLAUDE_MEM_RESTATE_SERVICE_PORT and, with
 * CLAUDE_MEM_RESTATE_ADMIN_URL, registers them with Restate; on any failure nothing stays listening.
 * For the worker started with `--restate-admin` and for `session-lifecycle restate-service`.
 */
export async function serveSessionServices(
  config: WorkerConfig,
  options: { readonly agent: Agent; readonly logger: Logger; readonly memories?: MemoryStore | undefined },
): Promise<{ readonly service: RunningSessionService; readonly advertisedUrl: string }> {
  const { restate } = config;
  const { logger } = options;
  let service: RunningSessionService;
  try {
    service = await startSessionService({
      ...serviceOptionsFromConfig(config, options.agent, options.memories),
      port: restate.servicePort,
      host: restate.serviceHost,
      logger: restateSdkLogger(logger),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new WorkerStartError(
        `port ${restate.servicePort} on ${restate.serviceHost} (CLAUDE_MEM_RESTATE_SERVICE_PORT) is already in use: choose another, or 0 for a free one`,
      );
    }
    throw error;
  }
  const advertisedUrl = restate.advertisedUrl ?? service.url;
  if (restate.adminUrl !== undefined) {
    try {
      await register(restate.adminUrl, advertisedUrl, logger);
    } catch (error) {
      await service.close();
      throw error;
    }
    logger.info({ serviceUrl: advertisedUrl, adminUrl: restate.adminUrl }, 'session services registered with Restate');
  }
  return { service, advertisedUrl };
}

/** How long the worker keeps trying to register its session services with a Restate admin API that does not answer yet. */
const REGISTER_FOR_MS = 60_000;
/** How long a start keeps trying a PostgreSQL that cannot be reached yet (starting with it, restarting). */
const MEMORY_DATABASE_FOR_MS = 60_000;

/**
 * The memory store of a Restate cluster (CLAUDE_MEM_POSTGRES_URL), its tables created or upgraded; none
 * when the setting is unset. A database out of reach is tried again for a minute; one that refuses
 * (sign-in, a missing database, a newer schema) stops the start at once, named without its password.
 */
export async function openMemoryDatabase(config: WorkerConfig, logger: Logger): Promise<PostgresMemoryStore | undefined> {
  const connectionString = config.postgresUrl;
  if (connectionString === undefined) {
    logger.warn('CLAUDE_MEM_POSTGRES_URL is not set: on Restate nothing is remembered (docs/scale-out.md)');
    return undefined;
  }
  const location = describeConnection(connectionString);
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const store = await openPostgresMemories({ connectionString });
      logger.info({ location, migratedFrom: store.migratedFrom }, 'memories kept in PostgreSQL');
      return store;
    } catch (error) {
      const message = (error as Error).message;
      if (!(error instanceof MemoryStoreUnavailableError)) {
        throw new WorkerStartError(`cannot open the memories in ${location} (CLAUDE_MEM_POSTGRES_URL): ${message}`);
      }
      if (Date.now() - started > MEMORY_DATABASE_FOR_MS) {
        throw new WorkerStartError(
          `could not reach the memory database (CLAUDE_MEM_POSTGRES_URL) within ${MEMORY_DATABASE_FOR_MS / 1_000} s: ${message}; is PostgreSQL running, and can this machine reach it?`,
        );
      }
      if (attempt === 0) logger.warn({ location, err: message }, 'memory database not reachable yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function register(adminUrl: string, serviceUrl: string, logger: Logger): Promise<void> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      await registerSessionService(adminUrl, serviceUrl);
      return;
    } catch (error) {
      if (Date.now() - started > REGISTER_FOR_MS) {
        throw new WorkerStartError(
          `could not register the session services (${serviceUrl}) with Restate's admin API at ${adminUrl} within ${REGISTER_FOR_MS / 1_000} s: ${(error as Error).message}; is restate-server running, and can it reach ${serviceUrl}?`,
        );
      }
      if (attempt === 0) logger.warn({ adminUrl, err: (error as Error).message }, 'Restate admin API not ready; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The Restate SDK's log lines through the worker's own logger (JSON, like every other line), at their
 * own level. Restate logs each invocation's start and end at info: only warnings and errors are kept.
 */
function restateSdkLogger(logger: Logger) {
  const sdk = logger.child({ component: 'restate-sdk' });
  return (meta: { level: string; replaying: boolean }, message?: unknown, ...rest: unknown[]) => {
    if (meta.replaying || (meta.level !== 'warn' && meta.level !== 'error')) return;
    const detail = rest.map((value) => (value instanceof Error ? value.message : value));
    sdk[meta.level]({ ...(detail.length > 0 ? { detail } : {}) }, String(message));
  };
}

/** When the worker says again that Restate is still out of reach: after 5 s, then twice as long each time, at most every minute. */
const REMINDER_FIRST_MS = 5_000;
const REMINDER_MAX_MS = 60_000;

/**
 * Logs Restate going out of reach and coming back, and while it is out of reach says so again (5 s,
 * 10 s, 20 s, … then every minute), probing it through the engine's health each time, so that the way
 * back is noticed even with no traffic.
 */
function reachabilityLog(logger: Logger, ingressUrl: string) {
  let reminder: NodeJS.Timeout | undefined;
  let engine: SessionEngine | undefined;
  const stopReminding = () => {
    clearTimeout(reminder);
    reminder = undefined;
  };
  const remind = (afterMs: number) => {
    reminder = setTimeout(async () => {
      const now = await engine?.health();
      if (now === undefined || now.writable || reminder === undefined) return;
      logger.warn(
        { ingressUrl, error: now.error, waitingSeconds: now.since === null ? null : Math.round((Date.now() - now.since) / 1_000) },
        'still waiting for Restate',
      );
      remind(Math.min(REMINDER_MAX_MS, afterMs * 2));
    }, afterMs);
    reminder.unref();
  };
  return {
    attach(attached: SessionEngine) {
      engine = attached;
    },
    stop: stopReminding,
    onReachabilityChange(health: EngineHealth) {
      stopReminding();
      if (health.writable) {
        const downSeconds = health.since === null ? null : Math.round((Date.now() - health.since) / 1_000);
        logger.info({ ingressUrl, downSeconds, failedCalls: health.failedWrites }, 'Restate answers again; hook calls are taken');
        return;
      }
      logger.warn(
        { ingressUrl, error: health.error },
        'Restate is out of reach: waiting for it; until it answers, readiness is 503 and hook calls are refused with 503 (nothing is lost: the hooks retry)',
      );
      remind(REMINDER_FIRST_MS);
    },
  };
}

export const openRestateEngine: EngineOpener = async (config, options) => {
  const { restate } = config;
  const { logger } = options;
  if (config.inspectUrl !== undefined)
    logger.warn('CLAUDE_MEM_INSPECT has no effect with CLAUDE_MEM_ENGINE=restate: no session actor runs here');
  // Read by the routes of this worker; written by the session services, here or in their own processes.
  const memories = await openMemoryDatabase(config, logger);
  // With an admin URL this worker also serves the session services (the two-command setup).
  let sessionService: RunningSessionService | undefined;
  try {
    sessionService = restate.adminUrl === undefined ? undefined : (await serveSessionServices(config, { ...options, memories })).service;
  } catch (error) {
    await memories?.close();
    throw error;
  }
  const reachability = reachabilityLog(logger, restate.ingressUrl!);
  const engine = connectRestateEngine({
    ingressUrl: restate.ingressUrl!,
    retryForMs: restate.callTimeoutMs,
    attemptTimeoutMs: Math.min(10_000, restate.callTimeoutMs),
    ...(memories === undefined ? {} : { memories }),
    onReachabilityChange: reachability.onReachabilityChange,
  });
  reachability.attach(engine);
  logger.info({ ingressUrl: restate.ingressUrl }, 'reaching Restate: ready once the session services answer through its ingress');
  return {
    engine,
    listening() {},
    async stop() {
      reachability.stop();
      // The services first: they may be storing memories; the engine then closes the store.
      await sessionService?.close();
      await engine.close();
    },
  };
};
