import * as restate from '@restatedev/restate-sdk';
import { z } from 'zod';
import type { InitResult } from '../engine/index.js';
import { ID_KEY, idsApi, SERVICE_NAMES, sessionApi } from './handles.js';
import type { IdentitySeed, SeededPromptRequest } from './session-object.js';

/** How many ids one `reserve` may take: a whole number from 1 to 1,000. */
export const RESERVE_COUNT = z.number().int().min(1).max(1_000);

/**
 * Numbers sessions: claude-mem's routes name a session by an integer sessionDbId. One counter for the
 * cluster. A worker takes its ids in blocks (`reserve`) and offers one to the directory with each
 * content session it has not seen, so that opening a session costs no invocation of this one object
 * that every new session of the cluster would queue behind; an id offered and not taken is offered again.
 */
export const sessionIds = restate.object({
  name: SERVICE_NAMES.ids,
  handlers: {
    next: async (ctx: restate.ObjectContext): Promise<number> => {
      const next = ((await ctx.get<number>('last')) ?? 0) + 1;
      ctx.set('last', next);
      return next;
    },
    /** `count` ids, first to first + count - 1, given to no one else. */
    reserve: async (ctx: restate.ObjectContext, request: { count: number }): Promise<{ first: number; count: number }> => {
      // Refused before it reaches the counter: a count that is not a number would be stored as null, and
      // the counter would start again at 1, handing out ids that are taken.
      const asked = RESERVE_COUNT.safeParse(request?.count);
      if (!asked.success)
        throw new restate.TerminalError(`sessionIds/reserve: count: ${asked.error.issues[0]?.message}`, { errorCode: 400 });
      const count = asked.data;
      const first = ((await ctx.get<number>('last')) ?? 0) + 1;
      ctx.set('last', first + count - 1);
      return { first, count };
    },
  },
});

/** What the directory is given to open a content session it may not know: the project, and an id reserved for it. */
export interface OpenRequest {
  readonly project: string;
  /** An id from `sessionIds/reserve` that nobody else holds; without one, the counter is asked. */
  readonly candidate?: number;
}

/** The content session's id, whether this call gave it (and so took the candidate), and the seed of a new session. */
async function openHere(
  ctx: restate.ObjectContext,
  request: OpenRequest,
  at?: number,
): Promise<{ sessionDbId: number; seed?: IdentitySeed }> {
  const known = await ctx.get<number>('sessionDbId');
  if (known !== null) return { sessionDbId: known };
  const sessionDbId = request.candidate ?? (await ctx.objectClient(idsApi, ID_KEY).next());
  ctx.set('sessionDbId', sessionDbId);
  return { sessionDbId, seed: { contentSessionId: ctx.key, project: request.project, at: at ?? (await ctx.date.now()) } };
}

/**
 * The content session id the hooks know a session by → its sessionDbId, one object per content session.
 * The first `open` or `init` numbers the session and gives the session object its identity before it
 * answers, so whoever learns the id can address the session by it at once. `init` does it in the same
 * call as the prompt: the session object takes its identity and the prompt in one turn (one invocation
 * of it instead of two). A revived session keeps its id; the mapping never changes, which is what lets
 * a worker cache it.
 */
export const sessionDirectory = restate.object({
  name: SERVICE_NAMES.directory,
  handlers: {
    open: async (ctx: restate.ObjectContext, request: OpenRequest): Promise<{ sessionDbId: number; opened: boolean }> => {
      const { sessionDbId, seed } = await openHere(ctx, request);
      if (seed !== undefined) await ctx.objectClient(sessionApi, String(sessionDbId)).identify(seed);
      return { sessionDbId, opened: seed !== undefined };
    },
    /** A prompt for the content session, opened first if it is new. */
    init: async (
      ctx: restate.ObjectContext,
      request: OpenRequest & { readonly prompt: SeededPromptRequest },
    ): Promise<{ result: InitResult; sessionDbId: number; opened: boolean }> => {
      const { sessionDbId, seed } = await openHere(ctx, request, request.prompt.at);
      const result = await ctx
        .objectClient(sessionApi, String(sessionDbId))
        .init({ ...request.prompt, ...(seed === undefined ? {} : { identity: seed }) });
      return { result, sessionDbId, opened: seed !== undefined };
    },
    lookup: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<number | null> => ctx.get<number>('sessionDbId'),
    ),
  },
});

export type SessionDirectory = typeof sessionDirectory;
export type SessionIds = typeof sessionIds;
