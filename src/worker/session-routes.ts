/**
 * The project's own routes: every live session, one session's state, its event stream (for audit and
 * replay), and Prometheus metrics.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DurableIdentity } from '../engine/index.js';
import type { SessionView } from '../session/index.js';
import { eventsAnswer, failures, liveSession as liveSessionAnswer, sessionAnswer, textAnswer } from './answers.js';
import type { RouteContext } from './context.js';
import { HttpError } from './errors.js';
import { eventsQuery, sessionDbIdParam } from './schemas.js';

const SESSIONS = ['sessions'];

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
    gatherDeadline: view.gatherDeadline,
    attempt: view.attempt,
    completing: view.completing,
    lastFailure: view.lastFailure,
    counters: view.counters,
    usageByProvider: view.usageByProvider,
  };
}

function storedSession(stored: DurableIdentity) {
  return {
    sessionDbId: stored.sessionDbId,
    contentSessionId: stored.contentSessionId,
    project: stored.project,
    lifecycle: 'disposed' as const,
    createdAt: stored.createdAt,
    stream: stored.stream,
  };
}

export function registerSessionRoutes(fastify: FastifyInstance, context: RouteContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { engine, metrics, whenReady, knownSession } = context;
  app.get(
    '/api/sessions',
    {
      preHandler: whenReady,
      schema: {
        summary: 'Every live session (active, idle or expiring) and its state',
        tags: SESSIONS,
        response: { 200: z.object({ sessions: z.array(liveSessionAnswer) }), ...failures(503) },
      },
    },
    async () => ({ sessions: (await engine.list()).map(liveSession) }),
  );

  app.get(
    '/api/sessions/:sessionDbId',
    {
      preHandler: whenReady,
      schema: {
        summary: 'One session: its state, queue, history, deadlines and counters; or how it ended',
        tags: SESSIONS,
        params: sessionDbIdParam,
        response: { 200: sessionAnswer, ...failures(400, 404, 503) },
      },
    },
    async (request) => {
      const { sessionDbId } = request.params;
      const [stored, view] = await Promise.all([knownSession(sessionDbId), engine.get({ sessionDbId })]);
      if (view === undefined) return storedSession(stored);
      return { ...liveSession(view), stream: { status: stored.stream.status, lastSeq: stored.stream.lastSeq } };
    },
  );

  app.get(
    '/api/sessions/:sessionDbId/events',
    {
      preHandler: whenReady,
      schema: {
        summary: "A session's event stream, for audit and replay: every logged event in order (no snapshot rows)",
        tags: SESSIONS,
        params: sessionDbIdParam,
        querystring: eventsQuery,
        response: { 200: eventsAnswer, ...failures(400, 404, 503) },
      },
    },
    async (request) => {
      const { sessionDbId } = request.params;
      const query = request.query;
      const events = await engine.events(sessionDbId, query);
      if (events === undefined) throw new HttpError(404, 'session not found', `no session ${sessionDbId}`);
      return {
        sessionDbId,
        events,
        ...(query.limit !== undefined && events.length === query.limit
          ? { next: `?after=${events.at(-1)!.seq}&limit=${query.limit}` }
          : {}),
      };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: sessions by state, work items, disposals by reason, log appends, agent calls, the heap',
        tags: ['worker'],
        response: { 200: textAnswer('text/plain', 'Prometheus text exposition format 0.0.4.') },
      },
    },
    async (_request, reply) => reply.type(metrics.register.contentType).send(await metrics.register.metrics()),
  );
}
