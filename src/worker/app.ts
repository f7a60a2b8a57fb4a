import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { initPrompt, observationPrompt, summaryPrompt } from '../agents/index.js';
import type { Refusal, SessionRegistry, SessionTarget } from '../registry/index.js';
import type { SessionView } from '../session/index.js';
import type { EventStore, StoredSession } from '../store/index.js';
import type { WorkerMetrics } from './metrics.js';
import {
  completeBody,
  eventsQuery,
  InvalidRequest,
  observationBody,
  parse,
  promptInitBody,
  sessionDbIdParam,
  sessionInitBody,
  stripPrivate,
  summarizeBody,
} from './schemas.js';
import { createSecurityHook } from './security.js';

export interface WorkerAppOptions {
  readonly registry: SessionRegistry;
  readonly store: EventStore;
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
  readonly now?: () => number;
}

/** Paths that answer without a token and before recovery: probes. */
const PROBES = new Set(['/api/readiness', '/api/health']);

/** File paths of claude-mem's own memory files: observing them would observe the observer. */
const SESSION_MEMORY_TOOLS = new Set(['Edit', 'Write', 'Read', 'NotebookEdit']);

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function refusal(result: Refusal, what: string): HttpError {
  switch (result.error) {
    case 'not-found':
      return new HttpError(404, 'session not found', what);
    case 'at-capacity':
      return new HttpError(503, 'at capacity', 'every live session is active and none can be evicted; retry later', {
        'retry-after': String(Math.ceil(result.retryAfterMs / 1_000)),
      });
    case 'queue-full':
      return new HttpError(
        503,
        'session queue full',
        `${what} already holds its maximum of unprocessed items (CLAUDE_MEM_MAX_QUEUED_ITEMS); retry later`,
        {
          'retry-after': String(Math.ceil(result.retryAfterMs / 1_000)),
        },
      );
    case 'shutting-down':
      return new HttpError(503, 'shutting down', 'the worker is stopping; retry once it is back', { 'retry-after': '5' });
  }
}

/** A live session as the list and detail routes show it. */
function liveSession(view: SessionView) {
  return {
    sessionDbId: view.sessionDbId,
    contentSessionId: view.contentSessionId,
    project: view.project,
    lifecycle: view.lifecycle,
    state: view.state,
    queueLength: view.queueLength,
    historyLength: view.historyLength,
    historyTokens: view.historyTokens,
    promptNumber: view.promptNumber,
    createdAt: view.createdAt,
    lastActivityAt: view.lastActivityAt,
    idleDeadline: view.idleDeadline,
    graceDeadline: view.graceDeadline,
    retryAt: view.retryAt,
    attempt: view.attempt,
    completing: view.completing,
    lastFailure: view.lastFailure,
    counters: view.counters,
  };
}

function storedSession(stored: StoredSession) {
  return {
    sessionDbId: stored.sessionDbId,
    contentSessionId: stored.contentSessionId,
    project: stored.project,
    lifecycle: 'disposed' as const,
    createdAt: stored.createdAt,
    stream: { status: stored.status, lastSeq: stored.lastSeq, disposal: stored.disposal, summary: stored.summary },
  };
}

/**
 * The worker's HTTP API (SPEC §6): claude-mem 8.5.x's routes with the same bodies and answers, and the
 * project's own. Each handler validates its input, turns it into one registry call (one event), and
 * answers once that event is durable in the log.
 */
export function createWorkerApp(options: WorkerAppOptions): { app: FastifyInstance; markReady(): void } {
  const { registry, store, metrics } = options;
  const now = options.now ?? Date.now;
  let ready = false;

  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // One log line per hook call would drown the log; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // The error handler below answers every failure as {error, details}.
    return503OnClosing: true,
  });
  // JSON only: any other body is answered 415.
  app.removeContentTypeParser(['text/plain']);
  app.addHook('onRequest', createSecurityHook({ host: options.host, port: options.port, token: options.token, publicPaths: PROBES }));

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (error instanceof HttpError) {
      return reply
        .code(error.statusCode)
        .headers(error.headers)
        .send({ error: error.message, details: error.details ?? null });
    }
    if (error instanceof InvalidRequest) return reply.code(400).send({ error: error.message, details: error.details });
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.code(413).send({
          error: 'body too large',
          details: `bodies are limited to ${options.bodyLimitBytes} bytes (CLAUDE_MEM_WORKER_BODY_LIMIT_MB)`,
        });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send({
          error: 'unsupported media type',
          details: `send Content-Type: application/json (got ${JSON.stringify(request.headers['content-type'] ?? null)})`,
        });
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send({ error: 'invalid JSON', details: error.message });
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.message, details: error.code ?? null });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error', details: error.message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not found', details: `${request.method} ${request.url}` }));

  /** Session routes wait for recovery: a hook retries on 503, and nothing it sends races the replay. */
  const whenReady = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (!ready) {
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'initializing', details: 'the worker is recovering sessions from its log' });
    }
  };

  const sessionDbIdOf = (request: FastifyRequest) => parse(sessionDbIdParam, request.params, 'sessionDbId').sessionDbId;
  const knownSession = (sessionDbId: number): StoredSession => {
    const stored = store.getSession(sessionDbId);
    if (stored === undefined) throw new HttpError(404, 'session not found', `no session ${sessionDbId}`);
    return stored;
  };
  /** Privacy as claude-mem has it: a content session none of whose prompts were public records nothing. */
  const hasPublicPrompt = (contentSessionId: string) =>
    (registry.get({ contentSessionId })?.promptNumber ?? store.findSession(contentSessionId)?.lastPromptNumber ?? 0) > 0;

  // ── probes ────────────────────────────────────────────────────────────────────────────────────
  app.get('/api/readiness', async (_request, reply) =>
    ready
      ? { status: 'ready' }
      : reply.code(503).header('retry-after', '1').send({ status: 'initializing', message: 'Worker is still initializing, please retry' }),
  );
  app.get('/api/health', async () => ({
    status: 'ok',
    version: options.version,
    pid: process.pid,
    initialized: ready,
    uptimeSeconds: Math.round(process.uptime()),
  }));
  app.get('/api/version', async () => ({ version: options.version }));

  // ── claude-mem 8.5.x hook routes ──────────────────────────────────────────────────────────────
  app.post('/api/sessions/init', { preHandler: whenReady }, async (request) => {
    const body = parse(sessionInitBody, request.body, 'session init');
    const target = { contentSessionId: body.contentSessionId, project: body.project };
    const userPrompt = stripPrivate(body.prompt);
    const previous = registry.get(target)?.promptNumber ?? store.findSession(body.contentSessionId)?.lastPromptNumber ?? 0;
    if (userPrompt === '') {
      const { sessionDbId } = store.openSession(body.contentSessionId, body.project, now());
      return { sessionDbId, promptNumber: previous + 1, skipped: true, reason: 'private' };
    }
    const promptNumber = previous + 1;
    const result = await registry.init(target, { prompt: initPrompt(body.project, userPrompt, promptNumber), promptNumber });
    if (!result.ok) throw refusal(result, body.contentSessionId);
    return { sessionDbId: result.sessionDbId, promptNumber: result.promptNumber, skipped: false };
  });

  app.post('/sessions/:sessionDbId/init', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const body = parse(promptInitBody, request.body, 'prompt init');
    const stored = knownSession(sessionDbId);
    const userPrompt = stripPrivate(body.userPrompt);
    if (userPrompt !== '') {
      const result = await registry.init(
        { sessionDbId },
        { prompt: initPrompt(stored.project, userPrompt, body.promptNumber), promptNumber: body.promptNumber },
      );
      if (!result.ok) throw refusal(result, `session ${sessionDbId}`);
    }
    return { status: 'initialized', sessionDbId, port: options.port() };
  });

  app.post('/api/sessions/observations', { preHandler: whenReady }, async (request) => {
    const body = parse(observationBody, request.body, 'observation');
    if (options.skipTools.includes(body.tool_name)) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'tool_excluded' };
    }
    const input = body.tool_input as { file_path?: unknown; notebook_path?: unknown } | null;
    const path = typeof input === 'object' && input !== null ? String(input.file_path ?? input.notebook_path ?? '') : '';
    if (SESSION_MEMORY_TOOLS.has(body.tool_name) && path.includes('session-memory')) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'session_memory_meta' };
    }
    if (!hasPublicPrompt(body.contentSessionId)) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'private' };
    }
    const prompt = observationPrompt({
      toolName: body.tool_name,
      toolInput: body.tool_input,
      toolResponse: body.tool_response,
      cwd: body.cwd ?? '',
      at: now(),
    });
    const result = await registry.enqueue(
      { contentSessionId: body.contentSessionId },
      { kind: 'observation', prompt, ...(body.tool_use_id === undefined ? {} : { toolUseId: body.tool_use_id }) },
    );
    if (!result.ok) throw refusal(result, body.contentSessionId);
    if (result.status === 'duplicate') {
      metrics.countWork('duplicate');
      return { status: 'skipped', reason: 'duplicate' };
    }
    return { status: 'queued' };
  });

  app.post('/api/sessions/summarize', { preHandler: whenReady }, async (request) => {
    const body = parse(summarizeBody, request.body, 'summarize');
    if (!hasPublicPrompt(body.contentSessionId)) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'private' };
    }
    const result = await registry.enqueue(
      { contentSessionId: body.contentSessionId },
      { kind: 'summarize', prompt: summaryPrompt(body.last_assistant_message) },
    );
    if (!result.ok) throw refusal(result, body.contentSessionId);
    return { status: 'queued' };
  });

  app.post('/api/sessions/complete', { preHandler: whenReady }, async (request) => {
    const body = parse(completeBody, request.body, 'complete');
    const stored = store.findSession(body.contentSessionId);
    if (stored === undefined) throw new HttpError(404, 'session not found', `no session for contentSessionId ${body.contentSessionId}`);
    const result = await registry.complete({ contentSessionId: body.contentSessionId });
    if (!result.ok && result.error === 'not-found') return { status: 'skipped', reason: 'not_active', sessionDbId: stored.sessionDbId };
    if (!result.ok) throw refusal(result, body.contentSessionId);
    return { status: 'completing', sessionDbId: stored.sessionDbId };
  });

  app.get('/sessions/:sessionDbId/status', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const view = registry.get({ sessionDbId });
    if (view !== undefined) {
      return {
        status: 'active',
        sessionDbId,
        project: view.project,
        queueLength: view.queueLength,
        uptime: now() - view.createdAt,
        lifecycle: view.lifecycle,
      };
    }
    const stored = knownSession(sessionDbId);
    return { status: 'not_found', sessionDbId, project: stored.project, queueLength: 0, uptime: 0, lifecycle: 'disposed' };
  });

  /** DELETE and complete by id: idempotent for a known session that is no longer live, as in claude-mem. */
  const endById =
    (command: (target: SessionTarget) => Promise<{ ok: boolean } | Refusal>, answer: object) => async (request: FastifyRequest) => {
      const sessionDbId = sessionDbIdOf(request);
      knownSession(sessionDbId);
      const result = await command({ sessionDbId });
      if (!result.ok && (result as Refusal).error !== 'not-found') throw refusal(result as Refusal, `session ${sessionDbId}`);
      return answer;
    };
  app.delete(
    '/sessions/:sessionDbId',
    { preHandler: whenReady },
    endById((target) => registry.delete(target), { status: 'deleted' }),
  );
  app.post(
    '/sessions/:sessionDbId/complete',
    { preHandler: whenReady },
    endById((target) => registry.complete(target), { success: true }),
  );

  /** claude-mem's context hook asks for memories to inject; this worker keeps sessions, not memories. */
  app.get('/api/context/inject', async (request, reply) => {
    const project = (request.query as { project?: unknown }).project;
    if (typeof project !== 'string' || project === '') throw new HttpError(400, 'Project parameter is required', 'pass ?project=<name>');
    return reply.type('text/plain; charset=utf-8').send('');
  });

  // ── the project's own ─────────────────────────────────────────────────────────────────────────
  app.get('/api/sessions', { preHandler: whenReady }, async () => ({ sessions: registry.list().map(liveSession) }));

  app.get('/api/sessions/:sessionDbId', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const stored = knownSession(sessionDbId);
    const view = registry.get({ sessionDbId });
    if (view === undefined) return storedSession(stored);
    return { ...liveSession(view), stream: { status: stored.status, lastSeq: stored.lastSeq } };
  });

  app.get('/api/sessions/:sessionDbId/events', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const query = parse(eventsQuery, request.query, 'query');
    knownSession(sessionDbId);
    const events = store.readEvents(sessionDbId, {
      ...(query.after === undefined ? {} : { afterSeq: query.after }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return {
      sessionDbId,
      events: events.map(({ seq, type, at, payload }) => ({ seq, type, at, payload })),
      ...(query.limit !== undefined && events.length === query.limit ? { next: `?after=${events.at(-1)!.seq}&limit=${query.limit}` } : {}),
    };
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.register.contentType).send(await metrics.register.metrics()));

  return {
    app,
    markReady() {
      ready = true;
    },
  };
}
