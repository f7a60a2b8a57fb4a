/**
 * claude-mem's hook routes (its 8.5.x hook scripts and its 13.x hook client), with the same bodies and
 * answers, so its hooks work unchanged: each validates its body, becomes one engine command (one event),
 * and answers once that event is durable.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { initPrompt, observationPrompt, summaryPrompt } from '../agents/index.js';
import type { EngineRefusal } from '../engine/index.js';
import { stripPrivate, withoutPrivate } from '../privacy/index.js';
import type { Refusal, SessionTarget } from '../registry/index.js';
import type { RouteContext } from './context.js';
import { HttpError, refusal } from './errors.js';
import { completeBody, observationBody, parse, promptInitBody, sessionInitBody, summarizeBody } from './schemas.js';

/** File paths of claude-mem's own memory files: observing them would observe the observer. */
const SESSION_MEMORY_TOOLS = new Set(['Edit', 'Write', 'Read', 'NotebookEdit']);

export function registerHookRoutes(app: FastifyInstance, context: RouteContext): void {
  const { engine, metrics, whenReady, sessionDbIdOf, knownSession, now } = context;
  const skippedPrivate = () => {
    metrics.countWork('skipped');
    return { status: 'skipped', reason: 'private' };
  };
  app.post('/api/sessions/init', { preHandler: whenReady }, async (request) => {
    const body = parse(sessionInitBody, request.body, 'session init');
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
    return { sessionDbId: result.sessionDbId, promptNumber: result.promptNumber, skipped: false, contextInjected, status: 'initialized' };
  });

  app.post('/sessions/:sessionDbId/init', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const body = parse(promptInitBody, request.body, 'prompt init');
    const stored = await knownSession(sessionDbId);
    const userPrompt = stripPrivate(body.userPrompt);
    if (userPrompt !== '') {
      const result = await engine.init(
        { sessionDbId },
        { prompt: initPrompt(stored.project, userPrompt, body.promptNumber), promptNumber: body.promptNumber },
      );
      if (!result.ok) throw refusal(result, `session ${sessionDbId}`);
    }
    return { status: 'initialized', sessionDbId, port: context.port() };
  });

  app.post('/api/sessions/observations', { preHandler: whenReady }, async (request) => {
    const body = parse(observationBody, request.body, 'observation');
    if (context.skipTools.includes(body.tool_name)) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'tool_excluded' };
    }
    const input = body.tool_input as { file_path?: unknown; notebook_path?: unknown } | null;
    const path = typeof input === 'object' && input !== null ? String(input.file_path ?? input.notebook_path ?? '') : '';
    if (SESSION_MEMORY_TOOLS.has(body.tool_name) && path.includes('session-memory')) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'session_memory_meta' };
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
    if (!result.ok && result.error === 'not-prompted') return skippedPrivate();
    if (!result.ok) throw refusal(result, body.contentSessionId);
    // A retry of an observation the log already has is answered as the first one was: it queues nothing.
    if (result.status === 'duplicate') metrics.countWork('duplicate');
    return { status: 'queued' };
  });

  app.post('/api/sessions/summarize', { preHandler: whenReady }, async (request) => {
    const body = parse(summarizeBody, request.body, 'summarize');
    // A subagent's turn ends inside its parent's: the parent's summary covers it (claude-mem skips it too).
    if (body.agentId !== undefined) {
      metrics.countWork('skipped');
      return { status: 'skipped', reason: 'subagent_context' };
    }
    const result = await engine.enqueue(
      { contentSessionId: body.contentSessionId },
      { kind: 'summarize', prompt: summaryPrompt(stripPrivate(body.last_assistant_message)), requirePrompt: true },
    );
    if (!result.ok && result.error === 'not-prompted') return skippedPrivate();
    if (!result.ok) throw refusal(result, body.contentSessionId);
    return { status: 'queued' };
  });

  app.post('/api/sessions/complete', { preHandler: whenReady }, async (request) => {
    const body = parse(completeBody, request.body, 'complete');
    const stored = await engine.identity({ contentSessionId: body.contentSessionId });
    if (stored === undefined) throw new HttpError(404, 'session not found', `no session for contentSessionId ${body.contentSessionId}`);
    const result = await engine.complete({ contentSessionId: body.contentSessionId });
    if (!result.ok && result.error === 'not-found') return { status: 'skipped', reason: 'not_active', sessionDbId: stored.sessionDbId };
    if (!result.ok) throw refusal(result, body.contentSessionId);
    return { status: 'completing', sessionDbId: stored.sessionDbId };
  });

  app.get('/sessions/:sessionDbId/status', { preHandler: whenReady }, async (request) => {
    const sessionDbId = sessionDbIdOf(request);
    const view = await engine.get({ sessionDbId });
    if (view !== undefined) {
      return {
        status: 'active',
        sessionDbId,
        project: view.project,
        queueLength: view.queueLength,
        uptime: now() - view.createdAt,
        lifecycle: view.lifecycle,
      };
    }
    const stored = await knownSession(sessionDbId);
    return { status: 'not_found', sessionDbId, project: stored.project, queueLength: 0, uptime: 0, lifecycle: 'disposed' };
  });

  /** DELETE and complete by id: idempotent for a known session that is no longer live, as in claude-mem. */
  const endById =
    (command: (target: SessionTarget) => Promise<{ ok: true } | Refusal | EngineRefusal>, answer: object) =>
    async (request: FastifyRequest) => {
      const sessionDbId = sessionDbIdOf(request);
      await knownSession(sessionDbId);
      const result = await command({ sessionDbId });
      if (!result.ok && result.error !== 'not-found') throw refusal(result, `session ${sessionDbId}`);
      return answer;
    };
  app.delete(
    '/sessions/:sessionDbId',
    { preHandler: whenReady },
    endById((target) => engine.delete(target), { status: 'deleted' }),
  );
  app.post(
    '/sessions/:sessionDbId/complete',
    { preHandler: whenReady },
    endById((target) => engine.complete(target), { success: true }),
  );
}
