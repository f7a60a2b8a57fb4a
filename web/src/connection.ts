/**
 * Talking to the worker: its token, kept for this tab only (sessionStorage), sent as a header, never
 * in a URL; and the event stream, read with fetch (EventSource cannot send a header), reconnecting
 * with a growing pause.
 */
import type { StreamMessage } from '../../src/dashboard/protocol.js';

const TOKEN_KEY = 'session-lifecycle.token';

export class Unauthorized extends Error {}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = storedToken();
  return { ...extra, ...(token === null ? {} : { authorization: `Bearer ${token}` }) };
}

/** The worker's failure answer: `details` lists each problem. */
interface ErrorAnswer {
  readonly error?: string;
  readonly details?: readonly { readonly field?: string; readonly problem: string }[];
}

const problemsOf = (body: ErrorAnswer) =>
  (body.details ?? []).map((p) => (p.field === undefined ? p.problem : `${p.field}: ${p.problem}`)).join('; ');

/** GET a JSON route of the worker; throws Unauthorized on 401, an Error with the worker's message otherwise. */
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers({ accept: 'application/json' }), cache: 'no-store' });
  if (response.status === 401) throw new Unauthorized('this worker needs its token');
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as ErrorAnswer;
    const problems = problemsOf(body);
    throw new Error(`${response.status} ${body.error ?? response.statusText}${problems ? `: ${problems}` : ''}`);
  }
  return (await response.json()) as T;
}

export type ConnectionState = 'connecting' | 'live' | 'retrying' | 'unauthorized';

export interface StreamHandlers {
  message(message: StreamMessage): void;
  state(state: ConnectionState, detail?: string): void;
}

/** Splits an SSE byte stream into messages (`event:` / `data:` lines; `:` lines are heartbeats). */
async function readEvents(body: ReadableStream<Uint8Array>, onMessage: (event: string, data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onMessage(event, data.join('\n'));
    }
  }
}

/** Keeps one stream open until `stop()`; after a 401 it waits for `retryNow()` (a token was entered). */
export function connectStream(handlers: StreamHandlers): { stop(): void; retryNow(): void } {
  let controller: AbortController | undefined;
  let stopped = false;
  let pause = 1_000;
  let timer: number | undefined;
  let generation = 0;

  const run = async () => {
    const mine = ++generation;
    controller = new AbortController();
    handlers.state('connecting');
    try {
      const response = await fetch('/dashboard/api/stream', {
        headers: headers({ accept: 'text/event-stream' }),
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status === 401) {
        handlers.state('unauthorized');
        return;
      }
      if (!response.ok || response.body === null) {
        const body = (await response.json().catch(() => ({}))) as ErrorAnswer;
        throw new Error(problemsOf(body) || `${response.status} ${response.statusText}`);
      }
      handlers.state('live');
      pause = 1_000;
      await readEvents(response.body, (_event, data) => handlers.message(JSON.parse(data) as StreamMessage));
      throw new Error('the worker closed the stream');
    } catch (error) {
      if (stopped || mine !== generation) return; // stopped, or replaced by retryNow()
      handlers.state('retrying', (error as Error).message);
      timer = window.setTimeout(run, pause);
      pause = Math.min(pause * 2, 10_000);
    }
  };
  void run();
  return {
    stop() {
      stopped = true;
      window.clearTimeout(timer);
      controller?.abort();
    },
    retryNow() {
      window.clearTimeout(timer);
      controller?.abort();
      pause = 1_000;
      void run();
    },
  };
}
