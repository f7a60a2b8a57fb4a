/**
 * Owns the dashboard's view of memories: a session's page lists the memories it produced, and the
 * memories view searches them all. Reads the engine's memory store only.
 * May not: change memories (the worker's `/api/…` routes delete them).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SessionEngine } from '../engine/index.js';
import type { Memory, SearchResult } from '../memories/index.js';
import type { MemoriesAnswer, MemoryEntry } from './protocol.js';

/** A session's page lists this many of its memories at most (its newest). */
export const SESSION_MEMORIES_LIMIT = 500;

const searchQuery = z.object({
  q: z.string({ error: 'q must be text' }).max(4_096, 'q must be at most 4096 characters').optional(),
  project: z.string({ error: 'project must be text' }).max(256, 'project must be at most 256 characters').optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'limit must be a number from 1 to 200')
    .transform(Number)
    .pipe(z.number().min(1, 'limit must be a number from 1 to 200').max(200, 'limit must be a number from 1 to 200'))
    .optional(),
  offset: z
    .string()
    .regex(/^\d{1,5}$/, 'offset must be a number from 0 to 10000')
    .transform(Number)
    .pipe(z.number().max(10_000, 'offset must be a number from 0 to 10000'))
    .optional(),
});

function entryOf(memory: Memory): MemoryEntry {
  const common = {
    kind: memory.kind,
    id: memory.id,
    sessionDbId: memory.sessionDbId,
    project: memory.project,
    promptNumber: memory.promptNumber,
    createdAt: memory.createdAt,
    origin: memory.origin,
  };
  const lines = (pairs: [string, string | null | readonly string[]][]) =>
    pairs.flatMap(([label, value]): { label: string; text: string }[] => {
      const text = typeof value === 'string' ? value : value === null ? '' : value.join(' · ');
      return text === '' ? [] : [{ label, text }];
    });
  if (memory.kind === 'summary') {
    return {
      ...common,
      type: 'summary',
      title: memory.request ?? memory.completed ?? '(summary)',
      lines: lines([
        ['request', memory.request],
        ['investigated', memory.investigated],
        ['learned', memory.learned],
        ['completed', memory.completed],
        ['next steps', memory.nextSteps],
        ['notes', memory.notes],
      ]),
    };
  }
  return {
    ...common,
    type: memory.type,
    title: memory.title ?? '(untitled)',
    lines: lines([
      ['subtitle', memory.subtitle],
      ['facts', memory.facts],
      ['narrative', memory.narrative],
      ['concepts', memory.concepts],
      ['files read', memory.filesRead],
      ['files modified', memory.filesModified],
      ['raw', memory.text],
    ]),
  };
}

/** Observations and summaries in one list: newest or oldest first, or as ranked (observations, then summaries). */
function entries(result: SearchResult, order: 'ranked' | 'newest' | 'oldest'): MemoryEntry[] {
  const all = [...result.observations, ...result.summaries];
  if (order !== 'ranked') all.sort((a, b) => (order === 'newest' ? 1 : -1) * (b.createdAt - a.createdAt || b.id - a.id));
  return all.map(entryOf);
}

const UNAVAILABLE: MemoriesAnswer = { available: false, ranking: null, entries: [], hasMore: false };

export function registerMemoryViews(app: FastifyInstance, engine: SessionEngine, sessionDbIdPattern: RegExp): void {
  app.get('/dashboard/api/sessions/:sessionDbId/memories', async (request, reply) => {
    const { sessionDbId } = request.params as { sessionDbId: string };
    if (!sessionDbIdPattern.test(sessionDbId)) {
      return reply
        .code(400)
        .send({ error: 'invalid sessionDbId', details: `expected a positive integer, got ${JSON.stringify(sessionDbId)}` });
    }
    const { memories } = engine;
    if (memories === null) return UNAVAILABLE;
    const result = await memories.search({ sessionDbId: Number(sessionDbId), limit: SESSION_MEMORIES_LIMIT + 1 });
    const hasMore = result.observations.length > SESSION_MEMORIES_LIMIT || result.summaries.length > SESSION_MEMORIES_LIMIT;
    const answer: MemoriesAnswer = { available: true, ranking: null, entries: entries(result, 'oldest'), hasMore };
    return reply.header('cache-control', 'no-store').send(answer);
  });

  app.get('/dashboard/api/memories', async (request, reply) => {
    const parsed = searchQuery.safeParse(request.query ?? {});
    if (!parsed.success) {
      return reply.code(400).send({
        error: 'invalid query',
        details: parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(query)', problem: issue.message })),
      });
    }
    const { memories } = engine;
    if (memories === null) return UNAVAILABLE;
    const { q, project, limit = 50, offset = 0 } = parsed.data;
    const words = q?.trim() ?? '';
    // One list of both kinds: the first offset + limit of each, merged, then the page cut from it.
    const result = await memories.search({
      ...(words === '' ? {} : { text: words }),
      ...(project === undefined || project.trim() === '' ? {} : { project: project.trim() }),
      limit: offset + limit + 1,
    });
    const merged = entries(result, words === '' ? 'newest' : 'ranked');
    const answer: MemoriesAnswer = {
      available: true,
      ranking: words === '' ? null : memories.description.ranking,
      entries: merged.slice(offset, offset + limit),
      hasMore: merged.length > offset + limit,
    };
    return reply.header('cache-control', 'no-store').send(answer);
  });
}
