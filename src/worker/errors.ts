/**
 * Owns how the worker answers a failure: one shape, `{error, details}` where `details` is always a list
 * of `{field?, problem}`, with the status that says what happened (400 invalid, 404 unknown, 413 too
 * large, 415 not JSON, 503 refused or out of reach, with Retry-After). Only a bug answers 500, and it is
 * logged.
 * May not: decide anything about sessions.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { EngineUnavailableError, type Refusal } from '../engine/index.js';
import { MemoryStoreUnavailableError } from '../memories/index.js';
import { EventStoreError } from '../store/index.js';
import type { ErrorAnswer } from './answers.js';
import { InvalidRequest, type Problem } from './schemas.js';

/** The one body of every failure: a single problem is a list of one. */
export function errorBody(error: string, details: string | readonly Problem[] | null | undefined): ErrorAnswer {
  const problems = details === null || details === undefined ? [] : typeof details === 'string' ? [{ problem: details }] : [...details];
  return { error, details: problems };
}

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: string | readonly Problem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function refusal(result: Refusal, what: string): HttpError {
  switch (result.error) {
    case 'not-found':
      return new HttpError(404, 'session not found', what);
    case 'at-capacity':
      return new HttpError(503, 'at capacity', 'every live session is active and none can be evicted; retry later', {
        'retry-after': String(Math.ceil(result.retryAfterMs / 1_000)),
      });
    case 'queue-full':
      return new HttpError(
        503,
        'session queue full',
        `${what} already holds its maximum of unprocessed items (CLAUDE_MEM_MAX_QUEUED_ITEMS); retry later`,
        {
          'retry-after': String(Math.ceil(result.retryAfterMs / 1_000)),
        },
      );
    case 'log-unwritable':
      return new HttpError(507, 'event log unwritable', `${result.message}; nothing was recorded, retry once it can be written`, {
        'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1_000))),
      });
    case 'shutting-down':
      return new HttpError(503, 'shutting down', 'the worker is stopping; retry once it is back', { 'retry-after': '5' });
    case 'engine-unavailable':
      return new HttpError(503, 'session engine unavailable', `${result.message}; the request was not acknowledged, retry later`, {
        'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1_000))),
      });
    case 'not-prompted':
      return new HttpError(409, 'no public prompt', `${what} has had no public prompt; nothing was recorded`);
  }
}

/**
 * A request Node's parser refused before any route saw it (headers over 16 KB, malformed HTTP): the
 * same `{error, details}` shape, then the connection closes.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(
    errorBody(
      status === 431 ? 'request headers too large' : 'malformed HTTP request',
      status === 431 ? 'the request line and headers together must stay under 16 KB' : (error.code ?? error.message),
    ),
  );
  // An answer to HEAD has no body (its client would take one for a second response).
  const head = Buffer.isBuffer(error.rawPacket) && error.rawPacket.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
  );
}

/** The error handler of the worker's fastify instance. */
export function answerError(bodyLimitBytes: number) {
  return (error: FastifyError | (Error & { code?: string; statusCode?: number }), request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).headers(error.headers).send(errorBody(error.message, error.details));
    }
    if (error instanceof InvalidRequest) return reply.code(400).send(errorBody(error.message, error.details));
    if (error instanceof EngineUnavailableError) {
      // A read the engine could not answer (Restate out of reach): nothing changed; try again later.
      return reply
        .code(503)
        .header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1_000))))
        .send(errorBody('session engine unavailable', error.message));
    }
    if (error instanceof MemoryStoreUnavailableError) {
      // The memory store (PostgreSQL on Restate) out of reach: nothing changed; try again later.
      return reply
        .code(503)
        .header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1_000))))
        .send(errorBody('memory store unavailable', error.message));
    }
    if (error instanceof EventStoreError && error.code === 'write-failed') {
      // A route that wrote to the log itself (a private prompt's identity): nothing of it was recorded.
      return reply.code(507).header('retry-after', '1').send(errorBody('event log unwritable', error.message));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply
          .code(413)
          .send(errorBody('body too large', `bodies are limited to ${bodyLimitBytes} bytes (CLAUDE_MEM_WORKER_BODY_LIMIT_MB)`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .code(415)
          .send(
            errorBody(
              'unsupported media type',
              `send Content-Type: application/json (got ${JSON.stringify(request.headers['content-type'] ?? null)})`,
            ),
          );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(errorBody('invalid JSON', error.message));
    }
    const { statusCode } = error;
    const ownDetails = (error as { details?: string | readonly Problem[] }).details;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 600 && ownDetails !== undefined) {
      // A deliberate failure of another module's route (the dashboard's), with what to tell the client.
      return reply.code(statusCode).send(errorBody(error.message, ownDetails));
    }
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      // A 4xx raised by fastify itself.
      return reply.code(statusCode).send(errorBody(error.message, error.code));
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send(errorBody('internal error', error.message));
  };
}
