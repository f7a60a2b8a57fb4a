import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';

export interface SecurityOptions {
  /** The address the worker is bound to. */
  readonly host: string;
  /** The port it listens on (known once it listens, for port 0). */
  readonly port: () => number;
  /** When set, every route but the public ones needs `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /** Routes that answer without a token: liveness and readiness probes. */
  readonly publicPaths: ReadonlySet<string>;
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);

/** Host names this worker answers to: its loopback names, and the address it was bound to. */
function acceptedHostnames(host: string): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (!WILDCARD.has(host)) names.add(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);
  return names;
}

function hostAndPort(value: string): [string, number | undefined] {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim().toLowerCase());
  if (!match) return ['', undefined];
  return [match[1]!, match[2] === undefined ? undefined : Number(match[2])];
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Refuses what a browser page could make a local worker do against its will:
 * - a `Host` that is not this worker's own name (DNS rebinding: evil.example resolving to 127.0.0.1);
 * - a cross-origin request (an `Origin` that is not this worker, or Sec-Fetch-Site saying so);
 * and, when a token is configured, any request without it.
 */
export function createSecurityHook(options: SecurityOptions) {
  const hostnames = acceptedHostnames(options.host);
  const expectedToken = options.token === undefined ? undefined : digest(options.token);
  const isOwn = (hostname: string, port: number | undefined, defaultPort: number) =>
    hostnames.has(hostname) && (port ?? defaultPort) === options.port();

  return async function security(request: FastifyRequest, reply: FastifyReply) {
    const host = request.headers.host;
    if (host !== undefined) {
      const [hostname, port] = hostAndPort(host);
      if (!isOwn(hostname, port, 80)) {
        return reply
          .code(403)
          .send(
            errorBody(
              'forbidden host',
              `Host ${JSON.stringify(host)} is not this worker (${[...hostnames].join(', ')} on port ${options.port()})`,
            ),
          );
      }
    }
    const origin = request.headers.origin;
    const fetchSite = request.headers['sec-fetch-site'];
    if (origin !== undefined || fetchSite === 'cross-site' || fetchSite === 'same-site') {
      let sameOrigin = false;
      try {
        const url = new URL(String(origin));
        sameOrigin =
          url.protocol === 'http:' &&
          isOwn(
            url.hostname.startsWith('[') ? url.hostname : url.hostname.toLowerCase(),
            url.port === '' ? undefined : Number(url.port),
            80,
          );
      } catch {
        sameOrigin = false;
      }
      if (!sameOrigin) {
        return reply
          .code(403)
          .send(errorBody('cross-origin request refused', `Origin ${JSON.stringify(origin ?? null)} may not call this worker`));
      }
    }
    if (expectedToken !== undefined && !options.publicPaths.has(request.routeOptions.url ?? '')) {
      const header = request.headers.authorization ?? '';
      const presented = header.startsWith('Bearer ') ? header.slice(7) : undefined;
      if (presented === undefined || !timingSafeEqual(digest(presented), expectedToken)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="session-lifecycle"')
          .send(errorBody('unauthorized', 'this worker needs Authorization: Bearer <CLAUDE_MEM_WORKER_TOKEN>'));
      }
    }
  };
}
