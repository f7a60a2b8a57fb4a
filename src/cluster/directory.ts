import * as restate from '@restatedev/restate-sdk';
import { ID_KEY, idsApi, SERVICE_NAMES, sessionApi } from './handles.js';

/** Numbers sessions: claude-mem's routes name a session by an integer sessionDbId. One counter for the cluster. */
export const sessionIds = restate.object({
  name: SERVICE_NAMES.ids,
  handlers: {
    next: async (ctx: restate.ObjectContext): Promise<number> => {
      const next = ((await ctx.get<number>('last')) ?? 0) + 1;
      ctx.set('last', next);
      return next;
    },
  },
});

/**
 * The content session id the hooks know a session by → its sessionDbId, one object per content session.
 * The first `open` takes the next id from the counter and gives the session object its identity
 * (content session, project, creation time) before it answers, so whoever learns the id can address
 * the session by it at once. A revived session keeps its id; the mapping never changes, which is what
 * lets a worker cache it.
 */
export const sessionDirectory = restate.object({
  name: SERVICE_NAMES.directory,
  handlers: {
    open: async (ctx: restate.ObjectContext, request: { project: string }): Promise<{ sessionDbId: number; opened: boolean }> => {
      const known = await ctx.get<number>('sessionDbId');
      if (known !== null) return { sessionDbId: known, opened: false };
      const sessionDbId = await ctx.objectClient(idsApi, ID_KEY).next();
      const at = await ctx.date.now();
      await ctx.objectClient(sessionApi, String(sessionDbId)).identify({ contentSessionId: ctx.key, project: request.project, at });
      ctx.set('sessionDbId', sessionDbId);
      return { sessionDbId, opened: true };
    },
    lookup: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<number | null> => ctx.get<number>('sessionDbId'),
    ),
  },
});

export type SessionDirectory = typeof sessionDirectory;
export type SessionIds = typeof sessionIds;
