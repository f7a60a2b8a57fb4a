/**
 * The worker's HTTP API (SPEC §6): one fastify instance with the security checks, one error shape, the
 * probes, and the route files beside it (claude-mem's hook routes, the project's own).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DASHBOARD_PUBLIC_PATHS } from '../dashboard/index.js';
import type { SessionEngine } from '../engine/index.js';
import { healthAnswer, notReadyAnswer, readinessAnswer } from './answers.js';
import { type RegisteredRoute, registerApiDocs, registerOpenApiRoute } from './api-docs.js';
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
  /** Required: what GET /metrics exposes (the worker creates it over the same engine). */
  readonly metrics: WorkerMetrics;
  /** Required: Fastify's logger (the worker's pino). */
  readonly logger: Logger;
  /** Required, CLAUDE_MEM_WORKER_HOST: the Host header a request must name (with the port), against DNS rebinding. */
  readonly host: string;
  /** The port the worker listens on; for port 0, known only once it listens. */
  readonly port: () => number;
  /** The bearer token every route but the probes requires; undefined (no token) only on loopback, as the configuration checks. */
  readonly token: string | undefined;
  /** Required, CLAUDE_MEM_WORKER_BODY_LIMIT_MB (default 10 MB there): a larger body is refused with 413. */
  readonly bodyLimitBytes: number;
  /** Required, CLAUDE_MEM_SKIP_TOOLS (the configuration's default, as claude-mem's): tool uses of these are acknowledged and not queued. */
  readonly skipTools: readonly string[];
  /** What GET /api/version answers (see docs/operations.md on claude-mem's version check). */
  readonly version: string;
  /** This package's own version, which GET /api/health reports as `serviceVersion`. */
  readonly serviceVersion: string;
  /** What `GET /api/context/inject` shows at most; default claude-mem's (50 observations, 10 sessions) within 8,000 tokens. */
  readonly context?: ContextLimits;
  /** Where time is read. Default `Date.now`; tests give their own. */
  readonly now?: () => number;
}

const PROBES_TAG = ['worker'];

/** Paths that answer without a token and before recovery: probes, and the dashboard's page (which holds no session data). */
const PROBES = new Set(['/api/readiness', '/api/health', ...DASHBOARD_PUBLIC_PATHS]);

export async function createWorkerApp(
  options: WorkerAppOptions,
): Promise<{ app: FastifyInstance; markReady(): void; routes: readonly RegisteredRoute[] }> {
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
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not found', details: [{ problem: `no route ${request.method} ${request.url}` }] }),
  );
  // Before any route: the schemas validate, check answers and make the reference (api-docs.ts).
  const routes = await registerApiDocs(app, { version: options.version });
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/readiness',
    {
      schema: {
        summary: 'Ready for hook calls? 200 once recovery finished (or Restate answered)',
        description:
          "200 with `status: ready`, or with the reason nothing can be recorded now (`log-unwritable`, `engine-unavailable`): claude-mem 13.x's hooks count a worker that is not ready as unreachable, and the third such hook in a row exits 2, which blocks the user's prompt. Writes are then refused one by one (507, or 503 on Restate), which those hooks skip and exit 0. 503 only while the worker starts.",
        tags: PROBES_TAG,
        response: { 200: readinessAnswer, 503: notReadyAnswer },
      },
    },
    async (_request, reply) => {
      if (!ready) {
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ status: 'initializing', message: 'Worker is still initializing, please retry' });
      }
      const log = await options.engine.health();
      if (!log.writable) {
        return { status: options.engine.capabilities.unwritable, message: log.error, since: log.since };
      }
      return { status: 'ready' as const };
    },
  );
  // claude-mem 13.x's hooks read two fields here before every call. `version`: a worker whose version is
  // not their plugin's is "stale", and they SIGKILL the pid in claude-mem's worker.pid; an answer without
  // one is "unknown", which they accept as it is. `uptime` (seconds): a worker that is never ready past
  // 300 s of it is "wedged" and recycled the same way. This worker is not claude-mem's, so it names
  // itself and its own version under fields of its own and claims neither of theirs. Always 200 while
  // it serves: the hooks read any other answer as "no worker here" and start one of their own.
  api.get(
    '/api/health',
    {
      schema: {
        summary: 'Is the process up, which service and version, and can it record? Always 200 while it serves',
        description:
          'claude-mem\'s hooks read any answer but 200 as "no worker here" and start one of their own; they compare a `version` field with their own and read `uptime`, so neither is sent (`serviceVersion`, `uptimeSeconds` instead).',
        tags: PROBES_TAG,
        response: { 200: healthAnswer },
      },
    },
    async () => {
      const log = await options.engine.health();
      return {
        status: log.writable ? ('ok' as const) : ('degraded' as const),
        service: 'session-lifecycle' as const,
        serviceVersion: options.serviceVersion,
        pid: process.pid,
        initialized: ready,
        uptimeSeconds: Math.round(process.uptime()),
        engine: options.engine.description.kind,
        log,
      };
    },
  );
  api.get(
    '/api/version',
    {
      schema: {
        summary: "The installed claude-mem plugin's version, else this package's (claude-mem 8.5.x's `start` compares it with its own)",
        tags: PROBES_TAG,
        response: { 200: z.object({ version: z.string() }) },
      },
    },
    async () => ({ version: options.version }),
  );
  registerOpenApiRoute(app);

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
    routes,
    markReady() {
      ready = true;
    },
  };
}
