/**
 * claude-mem's hook routes (its 8.5.x hook scripts and its 13.x hook client), with the same bodies and
 * answers, so its hooks work unchanged: each validates its body, becomes one engine command (one event),
 * and answers once that event is durable.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { initPrompt, observationPrompt, summaryPrompt } from '../agents/index.js';
import type { Refusal, SessionTarget } from '../engine/index.js';
import { stripPrivate, withoutPrivate } from '../privacy/index.js';
import { failures, lifecycle } from './answers.js';
import type { RouteContext } from './context.js';
import { HttpError, refusal } from './errors.js';
import { completeBody, observationBody, promptInitBody, sessionDbIdParam, sessionInitBody, summarizeBody } from './schemas.js';

const HOOKS = ['claude-mem hooks'];
/** A body can also be too large (413) or not JSON (415). */
const BODY_FAILURES = [400, 413, 415, 503, 507] as const;

const workAnswer = z.union([
  z.object({ status: z.literal('queued') }).describe('Recorded: the agent will take it.'),
  z
    .object({
      status: z.literal('skipped'),
      reason: z.enum(['private', 'unknown_session', 'tool_excluded', 'session_memory_meta', 'subagent_context']),
    })
    .describe(
      'Nothing recorded, on purpose: `private` (every prompt of the session was private), `unknown_session` (no session was ever initialised for this contentSessionId: also logged as a warning), `tool_excluded` (CLAUDE_MEM_SKIP_TOOLS), `session_memory_meta` (claude-mem’s own memory files), `subagent_context` (a summarize from inside a subagent: its parent’s summary covers it).',
    ),
]);

/** File paths of claude-mem's own memory files: observing them would observe the observer. */
const SESSION_MEMORY_TOOLS = new Set(['Edit', 'Write', 'Read', 'NotebookEdit']);

export function registerHookRoutes(fastify: FastifyInstance, context: RouteContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { engine, metrics, whenReady, knownSession, now } = context;
  /**
   * Work refused for want of a public prompt: claude-mem's privacy skip, a 200 the hooks rely on. A
   * content session that was never initialised at all (no identity: a typo, a hook sent to the wrong
   * worker) gets the same 200 but its own reason and a warning in the log, so it never passes for privacy.
   */
  const skippedUnprompted = async (request: FastifyRequest, contentSessionId: string, what: string) => {
    metrics.countWork('skipped');
    if ((await engine.identity({ contentSessionId })) !== undefined) return { status: 'skipped', reason: 'private' };
    request.log.warn(
      { contentSessionId },
      `${what} for a content session that was never initialised (no POST /api/sessions/init): skipped, nothing recorded`,
    );
    return { status: 'skipped', reason: 'unknown_session' };
  };
  app.post(
    '/api/sessions/init',
    {
      preHandler: whenReady,
      schema: {
        summary: "A user prompt (claude-mem's UserPromptSubmit hook): starts the session, or queues the prompt as work",
        tags: HOOKS,
        body: sessionInitBody,
        response: {
          200: z
            .object({
              sessionDbId: z.number().int(),
              promptNumber: z.number().int(),
              skipped: z.boolean(),
              reason: z.literal('private').optional(),
              contextInjected: z
                .boolean()
                .optional()
                .describe("claude-mem 13.x's: the session was already live, so its agent has seen what came before."),
              status: z.literal('initialized').optional(),
            })
            .describe('The session and the prompt\'s number; `skipped: true, reason: "private"` when the whole prompt was private.'),
          ...failures(...BODY_FAILURES),
        },
      },
    },
    async (request) => {
      const { body } = request;
      const target = { contentSessionId: body.contentSessionId, project: body.project };
      const userPrompt = stripPrivate(body.prompt);
      if (userPrompt === '') {
        const opened = await engine.openIdentity(body.contentSessionId, body.project);
        if ('ok' in opened) throw refusal(opened, body.contentSessionId);
        return { sessionDbId: opened.sessionDbId, promptNumber: opened.lastPromptNumber + 1, skipped: true, reason: 'private' };
      }
      const promptNumber = ((await engine.identity(target))?.lastPromptNumber ?? 0) + 1;
      // claude-mem's `contextInjected`: the session was already live, so its agent has seen what came before.
      const contextInjected = promptNumber > 1 && (await engine.get(target)) !== undefined;
      const result = await engine.init(target, { prompt: initPrompt(body.project, userPrompt, promptNumber), promptNumber });
      if (!result.ok) throw refusal(result, body.contentSessionId);
      return {
        sessionDbId: result.sessionDbId,
        promptNumber: result.promptNumber,
        skipped: false,
        contextInjected,
        status: 'initialized' as const,
      };
    },
  );

  app.post(
    '/sessions/:sessionDbId/init',
    {
      preHandler: whenReady,
      schema: {
        summary: "claude-mem 8.5.x's second init call: the prompt by number for a known session",
        tags: HOOKS,
        params: sessionDbIdParam,
        body: promptInitBody,
        response: {
          200: z.object({ status: z.literal('initialized'), sessionDbId: z.number().int(), port: z.number().int() }),
          ...failures(...BODY_FAILURES, 404),
        },
      },
    },
    async (request) => {
      const { sessionDbId } = request.params;
      const { body } = request;
      const stored = await knownSession(sessionDbId);
      const userPrompt = stripPrivate(body.userPrompt);
      if (userPrompt !== '') {
        const result = await engine.init(
          { sessionDbId },
          { prompt: initPrompt(stored.project, userPrompt, body.promptNumber), promptNumber: body.promptNumber },
        );
        if (!result.ok) throw refusal(result, `session ${sessionDbId}`);
      }
      return { status: 'initialized' as const, sessionDbId, port: context.port() };
    },
  );

  app.post(
    '/api/sessions/observations',
    {
      preHandler: whenReady,
      schema: {
        summary: "A tool use (claude-mem's PostToolUse hook): queued as an observation for the session's agent",
        tags: HOOKS,
        body: observationBody,
        response: { 200: workAnswer, ...failures(...BODY_FAILURES) },
      },
    },
    async (request) => {
      const { body } = request;
      if (context.skipTools.includes(body.tool_name)) {
        metrics.countWork('skipped');
        return { status: 'skipped' as const, reason: 'tool_excluded' as const };
      }
      const input = body.tool_input as { file_path?: unknown; notebook_path?: unknown } | null;
      const path = typeof input === 'object' && input !== null ? String(input.file_path ?? input.notebook_path ?? '') : '';
      if (SESSION_MEMORY_TOOLS.has(body.tool_name) && path.includes('session-memory')) {
        metrics.countWork('skipped');
        return { status: 'skipped' as const, reason: 'session_memory_meta' as const };
      }
      const prompt = observationPrompt({
        toolName: body.tool_name,
        toolInput: withoutPrivate(body.tool_input),
        toolResponse: withoutPrivate(body.tool_response),
        cwd: body.cwd ?? '',
        at: now(),
      });
      // Privacy as claude-mem has it: a content session none of whose prompts were public records nothing.
      const result = await engine.enqueue(
        { contentSessionId: body.contentSessionId },
        { kind: 'observation', prompt, requirePrompt: true, ...(body.tool_use_id === undefined ? {} : { toolUseId: body.tool_use_id }) },
      );
      if (!result.ok && result.error === 'not-prompted') return skippedUnprompted(request, body.contentSessionId, 'observation');
      if (!result.ok) throw refusal(result, body.contentSessionId);
      // A retry of an observation the log already has is answered as the first one was: it queues nothing.
      if (result.status === 'duplicate') metrics.countWork('duplicate');
      return { status: 'queued' as const };
    },
  );

  app.post(
    '/api/sessions/summarize',
    {
      preHandler: whenReady,
      schema: {
        summary: "The end of a turn (claude-mem's Stop hook): queues a summary of the work so far",
        tags: HOOKS,
        body: summarizeBody,
        response: { 200: workAnswer, ...failures(...BODY_FAILURES) },
      },
    },
    async (request) => {
      const { body } = request;
      // A subagent's turn ends inside its parent's: the parent's summary covers it (claude-mem skips it too).
      if (body.agentId !== undefined) {
        metrics.countWork('skipped');
        return { status: 'skipped' as const, reason: 'subagent_context' as const };
      }
      const result = await engine.enqueue(
        { contentSessionId: body.contentSessionId },
        { kind: 'summarize', prompt: summaryPrompt(stripPrivate(body.last_assistant_message)), requirePrompt: true },
      );
      if (!result.ok && result.error === 'not-prompted') return skippedUnprompted(request, body.contentSessionId, 'summarize');
      if (!result.ok) throw refusal(result, body.contentSessionId);
      return { status: 'queued' as const };
    },
  );

  app.post(
    '/api/sessions/complete',
    {
      preHandler: whenReady,
      schema: {
        summary: 'Ends a session once its queue is drained (disposal reason `completed`)',
        tags: HOOKS,
        body: completeBody,
        response: {
          200: z.union([
            z.object({ status: z.literal('completing'), sessionDbId: z.number().int() }),
            z
              .object({ status: z.literal('skipped'), reason: z.literal('not_active'), sessionDbId: z.number().int() })
              .describe('The session is known but no longer live.'),
          ]),
          ...failures(...BODY_FAILURES, 404),
        },
      },
    },
    async (request) => {
      const { body } = request;
      const stored = await engine.identity({ contentSessionId: body.contentSessionId });
      if (stored === undefined) throw new HttpError(404, 'session not found', `no session for contentSessionId ${body.contentSessionId}`);
      const result = await engine.complete({ contentSessionId: body.contentSessionId });
      if (!result.ok && result.error === 'not-found')
        return { status: 'skipped' as const, reason: 'not_active' as const, sessionDbId: stored.sessionDbId };
      if (!result.ok) throw refusal(result, body.contentSessionId);
      return { status: 'completing' as const, sessionDbId: stored.sessionDbId };
    },
  );

  app.get(
    '/sessions/:sessionDbId/status',
    {
      preHandler: whenReady,
      schema: {
        summary: "A session's status, as claude-mem 8.5.x answers it",
        tags: HOOKS,
        params: sessionDbIdParam,
        response: {
          200: z.object({
            status: z.enum(['active', 'not_found']).describe('`not_found`: known, but no longer live.'),
            sessionDbId: z.number().int(),
            project: z.string(),
            queueLength: z.number().int(),
            uptime: z.number().describe('Milliseconds since the session was created (0 once gone).'),
            lifecycle,
          }),
          ...failures(400, 404, 503),
        },
      },
    },
    async (request) => {
      const { sessionDbId } = request.params;
      const view = await engine.get({ sessionDbId });
      if (view !== undefined) {
        return {
          status: 'active' as const,
          sessionDbId,
          project: view.project,
          queueLength: view.queueLength,
          uptime: now() - view.createdAt,
          lifecycle: view.lifecycle,
        };
      }
      const stored = await knownSession(sessionDbId);
      return {
        status: 'not_found' as const,
        sessionDbId,
        project: stored.project,
        queueLength: 0,
        uptime: 0,
        lifecycle: 'disposed' as const,
      };
    },
  );

  /** DELETE and complete by id: idempotent for a known session that is no longer live, as in claude-mem. */
  const endById =
    <T>(command: (target: SessionTarget) => Promise<{ ok: true } | Refusal>, answer: T) =>
    async (request: FastifyRequest) => {
      const { sessionDbId } = request.params as { sessionDbId: number };
      await knownSession(sessionDbId);
      const result = await command({ sessionDbId });
      if (!result.ok && result.error !== 'not-found') throw refusal(result, `session ${sessionDbId}`);
      return answer;
    };
  app.delete(
    '/sessions/:sessionDbId',
    {
      preHandler: whenReady,
      schema: {
        summary: 'Ends a session now (disposal reason `deleted`; queued items are dropped and counted)',
        description: 'Idempotent: a known session that is no longer live is answered the same.',
        tags: HOOKS,
        params: sessionDbIdParam,
        response: { 200: z.object({ status: z.literal('deleted') }), ...failures(400, 404, 503, 507) },
      },
    },
    endById((target) => engine.delete(target), { status: 'deleted' as const }),
  );
  app.post(
    '/sessions/:sessionDbId/complete',
    {
      preHandler: whenReady,
      schema: {
        summary: 'Ends a session once its queue is drained (disposal reason `completed`), by id',
        description: 'Idempotent: a known session that is no longer live is answered the same.',
        tags: HOOKS,
        params: sessionDbIdParam,
        body: z.unknown().describe('Nothing is read: no body, or any JSON.'),
        response: { 200: z.object({ success: z.literal(true) }), ...failures(400, 404, 503, 507) },
      },
    },
    endById((target) => engine.complete(target), { success: true as const }),
  );
}
