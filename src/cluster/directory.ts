import * as restate from '@restatedev/restate-sdk';

const ID_KEY = 'ids';

/** Numbers sessions: claude-mem's routes name a session by an integer sessionDbId. One counter for the cluster. */
export const sessionIds = restate.object({
  name: 'sessionIds',
  handlers: {
    next: async (ctx: restate.ObjectContext): Promise<number> => {
      const next = ((await ctx.get<number>('last')) ?? 0) + 1;
      ctx.set('last', next);
      return next;
    },
  },
});

const idsApi: typeof sessionIds = { name: 'sessionIds' };

/**
 * The content session id the hooks know a session by → its sessionDbId, one object per content session.
 * The counter is asked only the first time a content session is seen; a revived session keeps its id.
 */
export const sessionDirectory = restate.object({
  name: 'sessionDirectory',
  handlers: {
    open: async (ctx: restate.ObjectContext): Promise<{ sessionDbId: number; opened: boolean }> => {
      const known = await ctx.get<number>('sessionDbId');
      if (known !== null) return { sessionDbId: known, opened: false };
      const sessionDbId = await ctx.objectClient(idsApi, ID_KEY).next();
      ctx.set('sessionDbId', sessionDbId);
      return { sessionDbId, opened: true };
    },
    lookup: restate.handlers.object.shared(
      async (ctx: restate.ObjectSharedContext): Promise<number | null> => ctx.get<number>('sessionDbId'),
    ),
  },
});

export type SessionDirectory = typeof sessionDirectory;
