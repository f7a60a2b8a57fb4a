/**
 * The project's own routes: every live session, one session's state, its event stream (for audit and
 * replay), and Prometheus metrics.
 */
import type { FastifyInstance } from 'fastify';
import type { SessionView } from '../session/index.js';
import type { StoredSession } from '../store/index.js';
import type { RouteContext } from './context.js';
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

export function registerSessionRoutes(app: FastifyInstance, context: RouteContext): void {
  const { registry, store, metrics, whenReady, sessionDbIdOf, knownSession } = context;
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
}
