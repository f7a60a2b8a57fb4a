/**
 * The memory routes: what claude-mem 13.x's hooks ask for (the context a session starts with, a file's
 * observations before it is read, a prompt's lexical matches), its MCP search tool's `/api/search`, and
 * browsing and deleting memories. They read the engine's memory store; an engine without one (Restate
 * without CLAUDE_MEM_POSTGRES_URL) answers the hooks as a worker that remembers nothing, and the rest
 * with 501. A store out of reach (PostgreSQL down) does the same for the hooks, logged, so that an
 * outage of the memories never fails the user's hooks (three failures in a row block their prompt);
 * the rest answer 503 with Retry-After.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type MemoryKind,
  type MemoryStore,
  MemoryStoreUnavailableError,
  renderContext,
  renderMatches,
  renderSearchIndex,
} from '../memories/index.js';
import { failures, textAnswer } from './answers.js';
import type { RouteContext } from './context.js';
import { HttpError } from './errors.js';
import { memoryRow, observationAnswer, observationRow, summaryAnswer, summaryRow } from './memory-shapes.js';
import { byFileQuery, contextQuery, memoryIdParam, memoryPageQuery, projectMemoriesQuery, searchQuery, semanticBody } from './schemas.js';

const HOOKS = ['claude-mem hooks'];
const MEMORIES = ['memories'];
const pageAnswer = (item: z.ZodType) =>
  z.object({
    items: z.array(item),
    hasMore: z.boolean().describe('Whether a next page has more.'),
    offset: z.number().int(),
    limit: z.number().int(),
  });
const counts = z.object({ observations: z.number().int(), summaries: z.number().int() }).describe('How many of each were deleted.');

/** What `GET /api/context/inject` shows at most (CLAUDE_MEM_CONTEXT_OBSERVATIONS, _SESSION_COUNT, _MAX_TOKENS). */
export interface ContextLimits {
  /** The latest observations shown. Default 50, claude-mem's (CLAUDE_MEM_CONTEXT_OBSERVATIONS). */
  readonly observations: number;
  /** The latest sessions whose summaries are shown. Default 10, claude-mem's (CLAUDE_MEM_CONTEXT_SESSION_COUNT). */
  readonly sessions: number;
  /** The context's estimated tokens at most, older entries dropped first. Default 8,000: a small share of the model's context. */
  readonly maxTokens: number;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = { observations: 50, sessions: 10, maxTokens: 8_000 };

/** claude-mem's hooks ask for a file's observations 40 at a time and show 15; 15 when they do not say. */
const BY_FILE_DEFAULT_LIMIT = 15;
/** claude-mem's semantic injection: prompts shorter than this match nothing; 5 results unless asked, 20 at most. */
const SEMANTIC_MIN_CHARS = 20;
const SEMANTIC_DEFAULT_LIMIT = 5;
const SEMANTIC_MAX_LIMIT = 20;
const PAGE_DEFAULT_LIMIT = 20;

/** claude-mem's `type` of a search: a kind of document, or else the type of the observations wanted. */
const SEARCH_KINDS: Readonly<Record<string, readonly MemoryKind[]>> = {
  observations: ['observation'],
  sessions: ['summary'],
  summaries: ['summary'],
  prompts: [],
};

/** A hook's read: what the store answers, or `nothing` when it is out of reach (logged): a hook must not fail for it. */
async function forHook<T>(log: FastifyBaseLogger, route: string, read: () => Promise<T>, nothing: T): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof MemoryStoreUnavailableError)) throw error;
    log.warn({ route, err: error.message }, 'memory store out of reach: the hook is answered as if there were no memories');
    return nothing;
  }
}

export function registerMemoryRoutes(fastify: FastifyInstance, context: RouteContext, limits: ContextLimits): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { engine } = context;
  const { memories } = engine;
  /** The store, or a 501 that says why this engine keeps none. */
  const store = (): MemoryStore => {
    if (memories !== null) return memories;
    throw new HttpError(
      501,
      'memories unavailable',
      `this worker's engine (${engine.description.kind}) keeps no memories: on Restate, set CLAUDE_MEM_POSTGRES_URL (docs/scale-out.md)`,
    );
  };

  app.get(
    '/api/context/inject',
    {
      schema: {
        summary: "Context for a new session (claude-mem's SessionStart hook): the projects' latest summaries and observations",
        description:
          'Newest first, within CLAUDE_MEM_CONTEXT_OBSERVATIONS, CLAUDE_MEM_CONTEXT_SESSION_COUNT and CLAUDE_MEM_CONTEXT_MAX_TOKENS; empty when there are none (or the engine keeps no memories, or its memory database is out of reach). `colors=true` gives the terminal variant.',
        tags: HOOKS,
        querystring: contextQuery,
        response: { 200: textAnswer('text/plain', 'The text to inject as `additionalContext`.'), ...failures(400) },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const text =
        memories === null
          ? ''
          : await forHook(
              request.log,
              'context',
              async () =>
                renderContext(
                  await memories.recent({ projects: query.projects, observations: limits.observations, sessions: limits.sessions }),
                  { projects: query.projects, maxTokens: limits.maxTokens, colors: query.colors },
                ),
              '',
            );
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );

  app.post(
    '/api/context/semantic',
    {
      schema: {
        summary: "Observations that match a prompt (claude-mem's UserPromptSubmit semantic injection)",
        description:
          'Lexical ranking (full-text search over the words of the prompt), not embeddings. Prompts under 20 characters match nothing.',
        tags: HOOKS,
        body: semanticBody,
        response: {
          200: z.object({ context: z.string().describe('The matches as text for the model (empty for none).'), count: z.number().int() }),
          ...failures(400, 413, 415),
        },
      },
    },
    async (request) => {
      const { body } = request;
      const prompt = body.q?.trim() ?? '';
      if (memories === null || prompt.length < SEMANTIC_MIN_CHARS) return { context: '', count: 0 };
      const limit = Math.min(body.limit ?? SEMANTIC_DEFAULT_LIMIT, SEMANTIC_MAX_LIMIT);
      const observations = await forHook(
        request.log,
        'semantic',
        async () =>
          (
            await memories.search({
              text: prompt,
              match: 'any',
              kinds: ['observation'],
              limit,
              ...(body.project === undefined || body.project === '' ? {} : { project: body.project }),
            })
          ).observations,
        [],
      );
      return { context: renderMatches(observations), count: observations.length };
    },
  );

  app.get(
    '/api/observations/by-file',
    {
      schema: {
        summary: "A file's observations, newest first (claude-mem's PreToolUse(Read) hook)",
        description: 'Matches absolute and project-relative paths either way round.',
        tags: HOOKS,
        querystring: byFileQuery,
        response: { 200: z.object({ observations: z.array(observationAnswer), count: z.number().int() }), ...failures(400) },
      },
    },
    async (request) => {
      const query = request.query;
      if (memories === null) return { observations: [], count: 0 };
      const observations = await forHook(
        request.log,
        'by-file',
        () =>
          memories.byFile({
            paths: query.path,
            limit: query.limit ?? BY_FILE_DEFAULT_LIMIT,
            ...(query.projects === undefined || query.projects.length === 0 ? {} : { projects: query.projects }),
          }),
        [],
      );
      return { observations: observations.map(observationRow), count: observations.length };
    },
  );

  app.get(
    '/api/search',
    {
      schema: {
        summary: "Searches memories (claude-mem's MCP search tool): full-text, ranked",
        description:
          "`type` is a kind (`observations`, `sessions`/`summaries`) or an observation type. Answers claude-mem's MCP text by default, or `format=json`.",
        tags: MEMORIES,
        querystring: searchQuery,
        response: {
          200: z.union([
            z
              .object({ content: z.array(z.object({ type: z.literal('text'), text: z.string() })) })
              .describe("The MCP tool's answer: an index of the matches as text."),
            z
              .object({
                observations: z.array(observationAnswer),
                sessions: z.array(summaryAnswer),
                prompts: z.array(z.unknown()),
                totalResults: z.number().int(),
                query: z.string(),
                ranking: z.string(),
              })
              .describe('`format=json`.'),
          ]),
          ...failures(400, 501, 503),
        },
      },
    },
    async (request) => {
      const query = request.query;
      const kinds = query.type === undefined ? undefined : SEARCH_KINDS[query.type];
      const observationType = query.obs_type ?? (query.type !== undefined && kinds === undefined ? query.type : undefined);
      const memoryStore = store();
      const result = await memoryStore.search({
        ...(query.query === undefined ? {} : { text: query.query }),
        ...(query.project === undefined ? {} : { project: query.project }),
        ...(kinds === undefined ? {} : { kinds }),
        ...(observationType === undefined ? {} : { observationType }),
        limit: query.limit ?? PAGE_DEFAULT_LIMIT,
        offset: query.offset ?? 0,
      });
      if (query.format === 'json') {
        return {
          observations: result.observations.map(observationRow),
          sessions: result.summaries.map(summaryRow),
          prompts: [],
          totalResults: result.observations.length + result.summaries.length,
          query: query.query ?? '',
          ranking: memoryStore.description.ranking,
        };
      }
      // What claude-mem's MCP search tool passes on to the model as it is.
      return { content: [{ type: 'text', text: renderSearchIndex(result, query.query ?? '', memoryStore.description.ranking) }] };
    },
  );

  const pageOf = (query: z.output<typeof memoryPageQuery>) => {
    return {
      offset: query.offset ?? 0,
      limit: query.limit ?? PAGE_DEFAULT_LIMIT,
      ...(query.project === undefined ? {} : { project: query.project }),
      ...(query.sessionDbId === undefined ? {} : { sessionDbId: query.sessionDbId }),
    };
  };
  app.get(
    '/api/observations',
    {
      schema: {
        summary: 'A page of observations, newest first (of a project or a session)',
        tags: MEMORIES,
        querystring: memoryPageQuery,
        response: { 200: pageAnswer(observationAnswer), ...failures(400, 501, 503) },
      },
    },
    async (request) => {
      const page = await store().observations(pageOf(request.query));
      return { ...page, items: page.items.map(observationRow) };
    },
  );
  app.get(
    '/api/summaries',
    {
      schema: {
        summary: 'A page of summaries, newest first (of a project or a session)',
        tags: MEMORIES,
        querystring: memoryPageQuery,
        response: { 200: pageAnswer(summaryAnswer), ...failures(400, 501, 503) },
      },
    },
    async (request) => {
      const page = await store().summaries(pageOf(request.query));
      return { ...page, items: page.items.map(summaryRow) };
    },
  );

  for (const [path, kind] of [
    ['/api/observation/:id', 'observation'],
    ['/api/summary/:id', 'summary'],
  ] as const) {
    const answer = kind === 'observation' ? observationAnswer : summaryAnswer;
    app.get(
      path,
      {
        schema: {
          summary: `One ${kind}`,
          tags: MEMORIES,
          params: memoryIdParam,
          response: { 200: answer, ...failures(400, 404, 501, 503) },
        },
      },
      async (request) => {
        const { id } = request.params;
        const memory = await store().get(kind, id);
        if (memory === undefined) throw new HttpError(404, `${kind} not found`, `no ${kind} #${id}`);
        return memoryRow(memory);
      },
    );
    app.delete(
      path,
      {
        schema: {
          summary: `Deletes one ${kind} (for good: the reply it came from is never stored again)`,
          tags: MEMORIES,
          params: memoryIdParam,
          response: {
            200: z.object({ success: z.literal(true), id: z.number().int(), kind: z.literal(kind) }),
            ...failures(400, 404, 501, 503),
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        if (!(await store().delete(kind, id))) throw new HttpError(404, `${kind} not found`, `no ${kind} #${id}`);
        return { success: true as const, id, kind };
      },
    );
  }

  app.delete(
    '/api/memories',
    {
      schema: {
        summary: 'Deletes every memory of a project',
        tags: MEMORIES,
        querystring: projectMemoriesQuery,
        response: {
          200: z.object({ success: z.literal(true), project: z.string(), deleted: counts }),
          ...failures(400, 501, 503),
        },
      },
    },
    async (request) => {
      const { project } = request.query;
      const deleted = await store().deleteProject(project);
      return { success: true as const, project, deleted };
    },
  );
}
