/**
 * The project's own routes: every live session, one session's state, its event stream (for audit and
 * replay), and Prometheus metrics.
 */
import type { FastifyInstance } from 'fastify';
import type { DurableIdentity } from '../engine/index.js';
import type { SessionView } from '../session/index.js';
import type { RouteContext } from './context.js';
import { HttpError } from './errors.js';
import { eventsQuery, parse } from './schemas.js';

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

export function registerSessionRoutes(app: FastifyInstance, context: RouteContext): void {
  const { engine, metrics, whenReady, sessionDbIdOf, knownSession } = context;
  app.get('/api/sessions', { preHandler: whenReady }, async () => ({ sessions: (await engine.list()).map(liveSession) }));

  app.get('/api/sessions/:sessionDbId', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const [stored, view] = await Promise.all([knownSession(sessionDbId), engine.get({ sessionDbId })]);
    if (view === undefined) return storedSession(stored);
    return { ...liveSession(view), stream: { status: stored.stream.status, lastSeq: stored.stream.lastSeq } };
  });

  app.get('/api/sessions/:sessionDbId/events', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const query = parse(eventsQuery, request.query, 'query');
    const events = await engine.events(sessionDbId, query);
    if (events === undefined) throw new HttpError(404, 'session not found', `no session ${sessionDbId}`);
    return {
      sessionDbId,
      events,
      ...(query.limit !== undefined && events.length === query.limit ? { next: `?after=${events.at(-1)!.seq}&limit=${query.limit}` } : {}),
    };
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.register.contentType).send(await metrics.register.metrics()));
}
