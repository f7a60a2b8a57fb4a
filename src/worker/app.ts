/**
 * The worker's HTTP API (SPEC §6): one fastify instance with the security checks, one error shape, the
 * probes, and the route files beside it (claude-mem's hook routes, the project's own).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { DASHBOARD_PUBLIC_PATHS } from '../dashboard/index.js';
import type { SessionEngine } from '../engine/index.js';
import { createRouteContext } from './context.js';
import { answerClientError, answerError } from './errors.js';
import { registerHookRoutes } from './hook-routes.js';
import { type ContextLimits, DEFAULT_CONTEXT_LIMITS, registerMemoryRoutes } from './memory-routes.js';
import type { WorkerMetrics } from './metrics.js';
import { createSecurityHook } from './security.js';
import { registerSessionRoutes } from './session-routes.js';

export interface WorkerAppOptions {
  /** Whatever runs the sessions: the embedded registry and its log, or a Restate cluster. */
  readonly engine: SessionEngine;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly host: string;
  /** The port the worker listens on; for port 0, known only once it listens. */
  readonly port: () => number;
  readonly token: string | undefined;
  readonly bodyLimitBytes: number;
  readonly skipTools: readonly string[];
  /** What GET /api/version answers (see docs/operations.md on claude-mem's version check). */
  readonly version: string;
  /** This package's own version, which GET /api/health reports as `serviceVersion`. */
  readonly serviceVersion: string;
  /** What `GET /api/context/inject` shows at most; default claude-mem's (50 observations, 10 sessions) within 8,000 tokens. */
  readonly context?: ContextLimits;
  readonly now?: () => number;
}

/** Paths that answer without a token and before recovery: probes, and the dashboard's page (which holds no session data). */
const PROBES = new Set(['/api/readiness', '/api/health', ...DASHBOARD_PUBLIC_PATHS]);

export function createWorkerApp(options: WorkerAppOptions): { app: FastifyInstance; markReady(): void } {
  let ready = false;

  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // One log line per hook call would drown the log; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // The error handler answers every failure as {error, details}.
    return503OnClosing: true,
    clientErrorHandler: answerClientError,
  });
  // JSON only: any other body is answered 415.
  app.removeContentTypeParser(['text/plain']);
  app.addHook('onRequest', createSecurityHook({ host: options.host, port: options.port, token: options.token, publicPaths: PROBES }));
  app.setErrorHandler(answerError(options.bodyLimitBytes));
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not found', details: `${request.method} ${request.url}` }));

  app.get('/api/readiness', async (_request, reply) => {
    if (!ready) {
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ status: 'initializing', message: 'Worker is still initializing, please retry' });
    }
    const log = await options.engine.health();
    if (!log.writable) {
      // Still 200: claude-mem 13.x's hooks count a worker that is not ready as unreachable, and the third
      // such hook in a row exits 2, which blocks the user's prompt. Writes are refused one by one instead
      // (507, or 503 on Restate), which those hooks skip and exit 0. The status says why.
      const status = options.engine.description.kind === 'embedded' ? 'log-unwritable' : 'engine-unavailable';
      return reply.code(200).send({ status, message: log.error, since: log.since });
    }
    return { status: 'ready' };
  });
  // claude-mem 13.x's hooks read two fields here before every call. `version`: a worker whose version is
  // not their plugin's is "stale", and they SIGKILL the pid in claude-mem's worker.pid; an answer without
  // one is "unknown", which they accept as it is. `uptime` (seconds): a worker that is never ready past
  // 300 s of it is "wedged" and recycled the same way. This worker is not claude-mem's, so it names
  // itself and its own version under fields of its own and claims neither of theirs.
  app.get('/api/health', async () => ({
    status: 'ok',
    service: 'session-lifecycle',
    serviceVersion: options.serviceVersion,
    pid: process.pid,
    initialized: ready,
    uptimeSeconds: Math.round(process.uptime()),
    engine: options.engine.description.kind,
    log: await options.engine.health(),
  }));
  app.get('/api/version', async () => ({ version: options.version }));

  const context = createRouteContext(
    {
      engine: options.engine,
      metrics: options.metrics,
      skipTools: options.skipTools,
      port: options.port,
      now: options.now ?? Date.now,
    },
    () => ready,
  );
  registerHookRoutes(app, context);
  registerSessionRoutes(app, context);
  registerMemoryRoutes(app, context, options.context ?? DEFAULT_CONTEXT_LIMITS);

  return {
    app,
    markReady() {
      ready = true;
    },
  };
}
