/**
 * Owns what the worker's routes answer, as zod schemas: each route declares its answers with these, the
 * worker checks every answer against them before it is sent (a documented field of the wrong type is a
 * bug, answered 500 and logged), and docs/api.md and docs/openapi.json are generated from them. So the
 * reference cannot drift from the answers. Fields a schema does not name are sent as they are.
 * May not: decide anything about sessions.
 */
import { z } from 'zod';
import { DISPOSAL_REASONS, LIFECYCLES } from '../../machines/session.machine.js';

/** One thing wrong with a request: the field it is about (absent when it is about no one field), and what. */
export const problem = z
  .object({
    field: z.string().optional().describe('The field, query parameter or path parameter it is about (`(body)` for the body as a whole).'),
    problem: z.string().describe('What is wrong, and what is expected.'),
  })
  .describe('One problem with the request.');

/** Every failure, whatever its status: `details` is always a list, even of one. */
export const errorAnswer = z.object({
  error: z.string().describe('What happened, in a few words (`invalid observation`, `session not found`, …).'),
  details: z.array(problem).describe('Each problem: for a body that fails validation, one per field.'),
});
export type ErrorAnswer = z.infer<typeof errorAnswer>;

const FAILURES = {
  400: 'The request is invalid: `details` names each field and what it must be.',
  401: 'A token is set (CLAUDE_MEM_WORKER_TOKEN) and the request has no valid `Authorization: Bearer …`.',
  403: 'A `Host` that is not this worker (DNS rebinding) or a cross-origin browser request.',
  404: 'No such session.',
  409: 'The session has had no public prompt (all `<private>`): nothing was recorded.',
  413: 'The body is over CLAUDE_MEM_WORKER_BODY_LIMIT_MB.',
  415: 'The body is not `application/json`.',
  501: 'The engine keeps no memories (the Restate engine without a memory database): nothing to read or delete.',
  503: 'Not now: the worker is starting, stopping, at capacity, the session queue is full, or the Restate cluster (or its memory database) is out of reach. Retry after `Retry-After` seconds.',
  507: 'The event log cannot be written (disk full, I/O error): nothing was recorded. Retry after `Retry-After` seconds.',
} as const;
type FailureStatus = keyof typeof FAILURES;

/** The failure answers a route documents, by status. */
export function failures(...statuses: FailureStatus[]): Partial<Record<FailureStatus, typeof errorAnswer>> {
  return Object.fromEntries(statuses.map((status) => [status, errorAnswer.describe(FAILURES[status])]));
}

/** An answer that is not JSON (text, HTML, an event stream), for the reference. */
export function textAnswer(contentType: string, description: string) {
  return { description, content: { [contentType]: { schema: z.string() } } };
}

const timestamp = z.number().describe('Milliseconds since the Unix epoch.');
const nullableTimestamp = timestamp.nullable();

export const lifecycle = z.enum(LIFECYCLES);
export const disposalReason = z.enum(DISPOSAL_REASONS);

export const counters = z
  .object({
    queued: z.number(),
    processed: z.number(),
    failed: z.number(),
    retries: z.number(),
    pauses: z.number(),
    revivals: z.number(),
    messagesAppended: z.number(),
    trimmedMessages: z.number(),
    trimmedTokens: z.number(),
    inputTokens: z.number(),
    outputTokens: z.number(),
  })
  .describe('Work items queued, processed and failed, history messages appended and trimmed, tokens spent.');

const disposal = z.object({ reason: disposalReason, at: timestamp, droppedItems: z.number() });
const streamSummary = z.object({
  createdAt: timestamp,
  disposedAt: timestamp,
  reason: disposalReason,
  droppedItems: z.number(),
  events: z.number(),
  processed: z.number(),
  failed: z.number(),
  compactedAt: timestamp,
});

export const liveSession = z.object({
  sessionDbId: z.number().int(),
  contentSessionId: z.string(),
  project: z.string(),
  lifecycle,
  state: z.string().describe('The full state name, e.g. `active.backoff`.'),
  queueLength: z.number().int(),
  historyLength: z.number().int(),
  historyTokens: z.number().int(),
  promptNumber: z.number().int(),
  createdAt: timestamp,
  lastActivityAt: timestamp,
  idleDeadline: nullableTimestamp,
  graceDeadline: nullableTimestamp,
  retryAt: nullableTimestamp,
  gatherDeadline: nullableTimestamp.describe('While a batch of observations gathers (`active.gathering`): when its timer fires.'),
  attempt: z.number().int(),
  completing: z.boolean(),
  lastFailure: z
    .object({
      kind: z.enum(['retryable', 'timeout', 'paused', 'fatal']),
      message: z.string(),
      at: timestamp,
      retryAfterMs: z.number().optional(),
    })
    .nullable(),
  counters,
});

export const sessionAnswer = z.union([
  liveSession
    .extend({ stream: z.object({ status: z.enum(['live', 'disposed', 'compacted']), lastSeq: z.number().int() }) })
    .describe('A live session.'),
  z
    .object({
      sessionDbId: z.number().int(),
      contentSessionId: z.string(),
      project: z.string(),
      lifecycle: z.literal('disposed'),
      createdAt: timestamp,
      stream: z.object({
        status: z.enum(['live', 'disposed', 'compacted']),
        lastSeq: z.number().int(),
        disposal: disposal.nullable(),
        summary: streamSummary.nullable(),
      }),
    })
    .describe('A session that is no longer live: how it ended, from the log.'),
]);

export const eventsAnswer = z.object({
  sessionDbId: z.number().int(),
  events: z.array(
    z.object({
      seq: z.number().int(),
      type: z
        .string()
        .describe('The event type as logged (`INIT`, `WORK_QUEUED`, `xstate.after.*`, the agent’s done and error events, …).'),
      at: timestamp,
      payload: z.unknown().describe('The event as logged.'),
    }),
  ),
  next: z.string().optional().describe('With `limit`, when the page is full: the query of the next page.'),
});

export const engineHealth = z.object({
  writable: z.boolean().describe('False while nothing can be recorded (embedded: the log; Restate: the cluster is out of reach).'),
  location: z.string().describe('The log file, or the Restate ingress URL.'),
  error: z.string().nullable(),
  since: nullableTimestamp,
  failedWrites: z.number().int(),
});

export const healthAnswer = z.object({
  status: z.enum(['ok', 'degraded']).describe('`degraded` while nothing can be recorded (see `log`); the answer is 200 all the same.'),
  service: z.literal('session-lifecycle'),
  serviceVersion: z.string().describe("This package's version (not claude-mem's: see the summary)."),
  pid: z.number().int(),
  initialized: z.boolean().describe('Recovery finished (embedded) or the Restate cluster answered.'),
  uptimeSeconds: z.number(),
  engine: z.enum(['embedded', 'restate']),
  log: engineHealth,
});

export const readinessAnswer = z.union([
  z.object({ status: z.literal('ready') }),
  z
    .object({
      status: z.enum(['log-unwritable', 'engine-unavailable']),
      message: z.string().nullable(),
      since: nullableTimestamp.optional(),
    })
    .describe('Serving, but nothing can be recorded now: writes answer 507 (or 503 on Restate) until it can.'),
]);
export const notReadyAnswer = z
  .object({
    status: z.literal('initializing'),
    message: z.string().nullable(),
    since: nullableTimestamp.optional(),
  })
  .describe('Not ready: still recovering its sessions (or reaching Restate). Retry after `Retry-After` seconds.');
