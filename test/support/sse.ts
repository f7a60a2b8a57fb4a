import { type ClientRequest, type IncomingMessage, request } from 'node:http';

export interface SseMessage {
  readonly event: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read messages of several shapes and assert on them
  readonly data: any;
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Every message so far (and the body, for an answer that is not a stream). */
  readonly messages: SseMessage[];
  readonly body: () => string;
  /** Resolves with the first message (from `from` on) that satisfies `match`. */
  next(match: (message: SseMessage) => boolean, options?: { from?: number; ms?: number }): Promise<SseMessage>;
  readonly closed: Promise<void>;
  close(): void;
}

/** Opens the dashboard's event stream as a plain HTTP client and parses what arrives. */
export function openStream(port: number, headers: Record<string, string> = {}, path = '/dashboard/api/stream'): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(
      { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers }, setHost: !('host' in headers) },
      (res) => {
        const messages: SseMessage[] = [];
        const waiters = new Set<() => void>();
        let raw = '';
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) });
          }
          for (const wake of waiters) wake();
        });
        const closed = new Promise<void>((done) => res.once('close', () => done()));
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          messages,
          body: () => raw,
          closed,
          next(match, options = {}) {
            const from = options.from ?? 0;
            return new Promise((found, fail) => {
              const check = () => {
                const hit = messages.slice(from).find(match);
                if (hit === undefined) return false;
                waiters.delete(check);
                clearTimeout(timer);
                found(hit);
                return true;
              };
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(new Error(`no matching message in ${options.ms ?? 10_000} ms; got ${messages.map((m) => m.event).join(', ')}`));
              }, options.ms ?? 10_000);
              if (!check()) waiters.add(check);
            });
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}
