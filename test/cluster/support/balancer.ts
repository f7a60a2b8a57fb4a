import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

/**
 * A minimal HTTP/2 (h2c) load balancer on loopback for one machine's cluster: each request stream
 * Restate opens (one per invocation attempt) goes to the next backend, round robin, so several service
 * processes share one deployment URL. A backend that fails is skipped until it answers again; a stream
 * that dies with its backend is reset, and Restate retries the invocation through the balancer. In a
 * real deployment this is the job of Envoy, a Kubernetes Service or a cloud load balancer.
 */
export async function startBalancer(backends: readonly string[]) {
  const sessions = new Map<string, ClientHttp2Session>();
  const downUntil = new Map<string, number>();
  const served = new Map<string, number>();
  const invocations = new Map<string, number>();
  const inbound = new Set<ServerHttp2Session>();
  let next = 0;

  const sessionFor = (backend: string): ClientHttp2Session => {
    const existing = sessions.get(backend);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const session = connect(backend);
    session.on('error', () => downUntil.set(backend, Date.now() + 500));
    session.on('close', () => sessions.get(backend) === session && sessions.delete(backend));
    sessions.set(backend, session);
    return session;
  };

  const pick = (): string => {
    const now = Date.now();
    for (let tried = 0; tried < backends.length; tried++) {
      const backend = backends[next++ % backends.length]!;
      if ((downUntil.get(backend) ?? 0) <= now) return backend;
    }
    return backends[next++ % backends.length]!;
  };

  const server = createServer();
  server.on('session', (session) => {
    inbound.add(session);
    session.once('close', () => inbound.delete(session));
  });
  server.on('stream', (stream, headers: IncomingHttpHeaders) => {
    const backend = pick();
    const forwarded: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(':') || name === ':method' || name === ':path') forwarded[name] = value;
    }
    let upstream: ReturnType<ClientHttp2Session['request']>;
    try {
      upstream = sessionFor(backend).request(forwarded);
    } catch {
      downUntil.set(backend, Date.now() + 500);
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    }
    served.set(backend, (served.get(backend) ?? 0) + 1);
    // Restate calls a deployment at /invoke/<service>/<handler>, one stream per invocation attempt.
    const path = String(headers[':path'] ?? '');
    if (path.startsWith('/invoke/'))
      invocations.set(path.slice('/invoke/'.length), (invocations.get(path.slice('/invoke/'.length)) ?? 0) + 1);
    upstream.on('response', (response) => {
      if (!stream.destroyed && !stream.headersSent) stream.respond(response);
      upstream.pipe(stream);
    });
    upstream.on('error', () => {
      downUntil.set(backend, Date.now() + 500);
      if (stream.destroyed) return;
      if (!stream.headersSent) stream.respond({ ':status': 503 }, { endStream: true });
      else stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.on('error', () => upstream.close(constants.NGHTTP2_CANCEL));
    stream.on('close', () => !upstream.closed && upstream.close(constants.NGHTTP2_CANCEL));
    stream.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Streams sent to each backend so far. */
    served,
    /** Invocation attempts by `<service>/<handler>` so far (what each hook event costs in Restate invocations). */
    invocations,
    async close() {
      for (const session of sessions.values()) session.destroy();
      for (const session of inbound) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
