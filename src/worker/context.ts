/**
 * What every route handler shares: the registry and the log, readiness, and the lookups that turn a
 * request into a session (or a 404). Route files receive one of these and nothing else.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRegistry } from '../registry/index.js';
import type { EventStore, StoredSession } from '../store/index.js';
import { HttpError } from './errors.js';
import type { WorkerMetrics } from './metrics.js';
import { parse, sessionDbIdParam } from './schemas.js';

export interface RouteContext {
  readonly registry: SessionRegistry;
  readonly store: EventStore;
  readonly metrics: WorkerMetrics;
  readonly skipTools: readonly string[];
  readonly port: () => number;
  readonly now: () => number;
  /** A preHandler: session routes wait for recovery (a hook retries on 503; nothing races the replay). */
  readonly whenReady: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  sessionDbIdOf(request: FastifyRequest): number;
  /** The session's identity in the log, or a 404. */
  knownSession(sessionDbId: number): StoredSession;
  /** Privacy as claude-mem has it: a content session none of whose prompts were public records nothing. */
  hasPublicPrompt(contentSessionId: string): boolean;
}

export function createRouteContext(
  options: Pick<RouteContext, 'registry' | 'store' | 'metrics' | 'skipTools' | 'port' | 'now'>,
  isReady: () => boolean,
): RouteContext {
  const { registry, store } = options;
  return {
    ...options,
    whenReady: async (_request, reply) => {
      if (!isReady()) {
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ error: 'initializing', details: 'the worker is recovering sessions from its log' });
      }
    },
    sessionDbIdOf: (request) => parse(sessionDbIdParam, request.params, 'sessionDbId').sessionDbId,
    knownSession: (sessionDbId) => {
      const stored = store.getSession(sessionDbId);
      if (stored === undefined) throw new HttpError(404, 'session not found', `no session ${sessionDbId}`);
      return stored;
    },
    hasPublicPrompt: (contentSessionId) =>
      (registry.get({ contentSessionId })?.promptNumber ?? store.findSession(contentSessionId)?.lastPromptNumber ?? 0) > 0,
  };
}
