/**
 * What every route handler shares: the session engine, readiness, and the lookups that turn a request
 * into a session (or a 404). Route files receive one of these and nothing else; they never learn which
 * engine runs the sessions.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DurableIdentity, SessionEngine } from '../engine/index.js';
import { HttpError } from './errors.js';
import type { WorkerMetrics } from './metrics.js';

export interface RouteContext {
  readonly engine: SessionEngine;
  readonly metrics: WorkerMetrics;
  readonly skipTools: readonly string[];
  readonly port: () => number;
  readonly now: () => number;
  /** A preHandler: session routes wait for the engine to start (a hook retries on 503; nothing races recovery). */
  readonly whenReady: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The session's durable identity, or a 404. */
  knownSession(sessionDbId: number): Promise<DurableIdentity>;
}

export function createRouteContext(
  options: Pick<RouteContext, 'engine' | 'metrics' | 'skipTools' | 'port' | 'now'>,
  isReady: () => boolean,
): RouteContext {
  const { engine } = options;
  return {
    ...options,
    whenReady: async (_request, reply) => {
      if (!isReady()) {
        const details = `the worker is ${engine.description.starting}`;
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ error: 'initializing', details: [{ problem: details }] });
      }
    },
    knownSession: async (sessionDbId) => {
      const identity = await engine.identity({ sessionDbId });
      if (identity === undefined) throw new HttpError(404, 'session not found', `no session ${sessionDbId}`);
      return identity;
    },
  };
}
