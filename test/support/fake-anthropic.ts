/**
 * A fake Anthropic Messages API on loopback that speaks the real wire protocol: `POST /v1/messages`
 * (Claude Code adds `?beta=true`), answered as Server-Sent Events when the request asks for `stream`
 * (message_start with usage, content_block_start / ping / content_block_delta / content_block_stop,
 * message_delta with the output tokens, message_stop) or as one JSON message otherwise; refusals are
 * JSON errors in Anthropic's shape (`{type:'error', error:{type, message}, request_id}`) with its status
 * codes and headers (`retry-after`, `request-id`). What each request gets is decided by a pluggable
 * responder, so one server serves the provider tests (answer, stall, error) and a cost benchmark (a
 * responder that charges tokens like Anthropic, cache included).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A content block of a request, as Claude Code and the Anthropic SDK send it. */
export interface AnthropicBlock {
  readonly type: string;
  readonly text?: string;
  readonly cache_control?: { readonly type: string; readonly ttl?: string };
  readonly [key: string]: unknown;
}

export interface AnthropicRequestBody {
  readonly model: string;
  readonly max_tokens: number;
  readonly stream?: boolean;
  readonly system?: string | readonly AnthropicBlock[];
  readonly messages: readonly { readonly role: 'user' | 'assistant'; readonly content: string | readonly AnthropicBlock[] }[];
  readonly tools?: readonly unknown[];
  readonly [key: string]: unknown;
}

export interface AnthropicRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** The body as sent, in bytes: what the caller pays to upload, and what prompt tokens are made of. */
  readonly bytes: number;
  readonly body: AnthropicRequestBody;
  /** The client went away before the answer was complete (an aborted call, a killed process). */
  aborted: boolean;
}

export interface AnthropicUsage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_creation_input_tokens?: number;
  readonly cache_read_input_tokens?: number;
  /** The cache writes by TTL, as the API reports them beside `cache_creation_input_tokens`. */
  readonly cache_creation?: { readonly ephemeral_5m_input_tokens: number; readonly ephemeral_1h_input_tokens: number };
  readonly service_tier?: string;
}

/** Anthropic's error types by status, as its API documents them. */
export const ANTHROPIC_ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** What the fake does with one request. */
export type AnthropicResponse =
  | {
      readonly text: string;
      readonly usage?: Partial<AnthropicUsage>;
      readonly delayMs?: number;
      /** Called as the answer goes out (not when the client left before it): a benchmark's clock reads it. */
      readonly onSend?: () => void;
    }
  | { readonly status: number; readonly message: string; readonly errorType?: string; readonly headers?: Record<string, string> }
  /** Accepts the request and never answers (a stalled model); the connection closes with the server. */
  | { readonly stall: true };

export type AnthropicResponder = (request: AnthropicRequest, index: number) => AnthropicResponse;

/** Answers with the scripted responses in turn; the last one repeats. */
export function scripted(...responses: AnthropicResponse[]): AnthropicResponder {
  return (_request, index) => responses[Math.min(index, responses.length - 1)]!;
}

/** A rough token count of a request's text (4 characters a token), for usage when the responder gives none. */
export function roughInputTokens(body: AnthropicRequestBody): number {
  return Math.ceil(JSON.stringify([body.system ?? '', body.messages, body.tools ?? []]).length / 4);
}

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function answer(res: ServerResponse, request: AnthropicRequest, index: number, text: string, usageGiven: Partial<AnthropicUsage>): void {
  const usage: AnthropicUsage = {
    ...usageGiven,
    input_tokens: usageGiven.input_tokens ?? roughInputTokens(request.body),
    output_tokens: usageGiven.output_tokens ?? Math.max(1, Math.ceil(text.length / 4)),
    cache_creation_input_tokens: usageGiven.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: usageGiven.cache_read_input_tokens ?? 0,
  };
  const id = `msg_fake${String(index).padStart(6, '0')}`;
  const requestId = `req_fake${String(index).padStart(6, '0')}`;
  const message = { id, type: 'message', role: 'assistant', model: request.body.model, stop_sequence: null };
  if (request.body.stream !== true) {
    res
      .writeHead(200, { 'content-type': 'application/json', 'request-id': requestId })
      .end(JSON.stringify({ ...message, content: [{ type: 'text', text }], stop_reason: 'end_turn', usage }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': requestId });
  sse(res, 'message_start', {
    type: 'message_start',
    message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
  });
  sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  sse(res, 'ping', { type: 'ping' });
  // Two deltas when there is enough text: a client must join them.
  const cut = Math.ceil(text.length / 2);
  for (const part of [text.slice(0, cut), text.slice(cut)].filter(Boolean)) {
    sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: part } });
  }
  sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
  sse(res, 'message_delta', {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: usage.output_tokens },
  });
  sse(res, 'message_stop', { type: 'message_stop' });
  res.end();
}

function refuse(res: ServerResponse, index: number, response: Extract<AnthropicResponse, { status: number }>): void {
  const requestId = `req_fake${String(index).padStart(6, '0')}`;
  const type = response.errorType ?? ANTHROPIC_ERROR_TYPES[response.status] ?? 'api_error';
  res
    .writeHead(response.status, { 'content-type': 'application/json', 'request-id': requestId, ...response.headers })
    .end(JSON.stringify({ type: 'error', error: { type, message: response.message }, request_id: requestId }));
}

export interface FakeAnthropic {
  /** The base URL to give as ANTHROPIC_BASE_URL (no `/v1`: clients add it). */
  readonly baseUrl: string;
  /** Every `POST /v1/messages` received, in order. */
  readonly requests: AnthropicRequest[];
  /** Other requests (count_tokens, anything else), by method and path: they get a 404. */
  readonly others: string[];
  /** Replaces the responder for the requests that follow. */
  respond(responder: AnthropicResponder): void;
  /** Resolves once `count` message requests have arrived. */
  received(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeAnthropic(responder: AnthropicResponder = scripted({ text: 'ok' })): Promise<FakeAnthropic> {
  let respondWith = responder;
  const requests: AnthropicRequest[] = [];
  const others: string[] = [];
  const stalled = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (req.method !== 'POST' || !/^\/v1\/messages(\?|$)/.test(path)) {
        others.push(`${req.method} ${path}`);
        refuse(res, others.length, { status: 404, message: `no route for ${req.method} ${path}` });
        return;
      }
      const raw = Buffer.concat(chunks);
      let body: AnthropicRequestBody;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        refuse(res, requests.length, { status: 400, message: 'the body is not JSON' });
        return;
      }
      const request: AnthropicRequest = { path, headers: req.headers, bytes: raw.length, body, aborted: false };
      const index = requests.length;
      requests.push(request);
      for (const wake of waiters) wake();
      res.on('close', () => {
        stalled.delete(res);
        if (!res.writableFinished) request.aborted = true;
      });
      const response = respondWith(request, index);
      if ('stall' in response) {
        stalled.add(res);
        return;
      }
      if ('status' in response) {
        refuse(res, index, response);
        return;
      }
      const send = () => {
        response.onSend?.();
        answer(res, request, index, response.text, response.usage ?? {});
      };
      if (response.delayMs === undefined) send();
      else {
        const timer = setTimeout(send, response.delayMs);
        res.on('close', () => clearTimeout(timer));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    others,
    respond(next) {
      respondWith = next;
    },
    received(count) {
      return new Promise((resolve) => {
        const check = () => {
          if (requests.length < count) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
