/**
 * The memory routes: what claude-mem 13.x's hooks ask for (the context a session starts with, a file's
 * observations before it is read, a prompt's lexical matches), its MCP search tool's `/api/search`, and
 * browsing and deleting memories. They read the engine's memory store; an engine without one (Restate,
 * for now) answers the hooks as a worker that remembers nothing, and the rest with 501.
 */
import type { FastifyInstance } from 'fastify';
import { type MemoryKind, type MemoryStore, renderContext, renderMatches, renderSearchIndex } from '../memories/index.js';
import type { RouteContext } from './context.js';
import { HttpError } from './errors.js';
import { memoryRow, observationRow, summaryRow } from './memory-shapes.js';
import {
  byFileQuery,
  contextQuery,
  memoryIdParam,
  memoryPageQuery,
  parse,
  projectMemoriesQuery,
  searchQuery,
  semanticBody,
} from './schemas.js';

/** What `GET /api/context/inject` shows at most (CLAUDE_MEM_CONTEXT_OBSERVATIONS, _SESSION_COUNT, _MAX_TOKENS). */
export interface ContextLimits {
  readonly observations: number;
  readonly sessions: number;
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

export function registerMemoryRoutes(app: FastifyInstance, context: RouteContext, limits: ContextLimits): void {
  const { engine } = context;
  const { memories } = engine;
  /** The store, or a 501 that says which engine keeps none. */
  const store = (): MemoryStore => {
    if (memories !== null) return memories;
    throw new HttpError(
      501,
      'memories unavailable',
      `this worker's engine (${engine.description.kind}) keeps no memories yet; the embedded engine does (CLAUDE_MEM_ENGINE=embedded)`,
    );
  };

  app.get('/api/context/inject', async (request, reply) => {
    const query = parse(contextQuery, request.query, 'query');
    const text =
      memories === null
        ? ''
        : renderContext(await memories.recent({ projects: query.projects, observations: limits.observations, sessions: limits.sessions }), {
            projects: query.projects,
            maxTokens: limits.maxTokens,
            colors: query.colors,
          });
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  app.post('/api/context/semantic', async (request) => {
    const body = parse(semanticBody, request.body, 'semantic context request');
    const prompt = body.q?.trim() ?? '';
    if (memories === null || prompt.length < SEMANTIC_MIN_CHARS) return { context: '', count: 0 };
    const limit = Math.min(body.limit ?? SEMANTIC_DEFAULT_LIMIT, SEMANTIC_MAX_LIMIT);
    const { observations } = await memories.search({
      text: prompt,
      match: 'any',
      kinds: ['observation'],
      limit,
      ...(body.project === undefined || body.project === '' ? {} : { project: body.project }),
    });
    return { context: renderMatches(observations), count: observations.length };
  });

  app.get('/api/observations/by-file', async (request) => {
    const query = parse(byFileQuery, request.query, 'query');
    if (memories === null) return { observations: [], count: 0 };
    const observations = await memories.byFile({
      paths: query.path,
      limit: query.limit ?? BY_FILE_DEFAULT_LIMIT,
      ...(query.projects === undefined || query.projects.length === 0 ? {} : { projects: query.projects }),
    });
    return { observations: observations.map(observationRow), count: observations.length };
  });

  app.get('/api/search', async (request) => {
    const query = parse(searchQuery, request.query, 'query');
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
  });

  const pageOf = (request: { query: unknown }) => {
    const query = parse(memoryPageQuery, request.query, 'query');
    return {
      offset: query.offset ?? 0,
      limit: query.limit ?? PAGE_DEFAULT_LIMIT,
      ...(query.project === undefined ? {} : { project: query.project }),
      ...(query.sessionDbId === undefined ? {} : { sessionDbId: query.sessionDbId }),
    };
  };
  app.get('/api/observations', async (request) => {
    const page = await store().observations(pageOf(request));
    return { ...page, items: page.items.map(observationRow) };
  });
  app.get('/api/summaries', async (request) => {
    const page = await store().summaries(pageOf(request));
    return { ...page, items: page.items.map(summaryRow) };
  });

  for (const [path, kind] of [
    ['/api/observation/:id', 'observation'],
    ['/api/summary/:id', 'summary'],
  ] as const) {
    app.get(path, async (request) => {
      const { id } = parse(memoryIdParam, request.params, 'id');
      const memory = await store().get(kind, id);
      if (memory === undefined) throw new HttpError(404, `${kind} not found`, `no ${kind} #${id}`);
      return memoryRow(memory);
    });
    app.delete(path, async (request) => {
      const { id } = parse(memoryIdParam, request.params, 'id');
      if (!(await store().delete(kind, id))) throw new HttpError(404, `${kind} not found`, `no ${kind} #${id}`);
      return { success: true, id, kind };
    });
  }

  app.delete('/api/memories', async (request) => {
    const { project } = parse(projectMemoriesQuery, request.query, 'query');
    const deleted = await store().deleteProject(project);
    return { success: true, project, deleted };
  });
}
