import * as restate from '@restatedev/restate-sdk';
import type { TimelineEntry as ReplayTimelineEntry } from '../replay/index.js';
import { SERVICE_NAMES } from './handles.js';

/** One event a session's machine processed, as its timeline keeps it: the dashboard's line and the event as recorded. */
export interface TimelineEntry extends ReplayTimelineEntry {
  readonly payload: unknown;
}

export interface TimelinePage {
  readonly entries: readonly TimelineEntry[];
  /** Entries dropped from the front to keep the timeline bounded (they are no longer readable). */
  readonly dropped: number;
}

export interface TimelineLimits {
  /** Entries kept per session (the newest, in whole batches). */
  readonly maxEntries: number;
}

/** The batches a timeline holds: the first seq of each and how many entries it has, oldest first. */
interface ChunkIndex {
  chunks: { readonly first: number; readonly count: number }[];
  dropped: number;
}

const INDEX = 'index';
const chunkKey = (first: number) => `c:${first}`;

/**
 * A session's timeline: a virtual object of its own, keyed like the session, so that the session object
 * keeps nothing of it after disposal and its hot path stays small. The session sends its entries in
 * batches (see session-turn.ts); each batch is one state key here, so an append writes one batch and a
 * small index, however long the timeline is (lazy state: nothing else is loaded). Bounded to the newest
 * `maxEntries`, and forgotten when the session object says its retention period is over.
 */
export function createTimelineObject(limits: TimelineLimits) {
  return restate.object({
    name: SERVICE_NAMES.timeline,
    handlers: {
      append: async (ctx: restate.ObjectContext, request: { entries: TimelineEntry[] }) => {
        if (request.entries.length === 0) return;
        const index = (await ctx.get<ChunkIndex>(INDEX)) ?? { chunks: [], dropped: 0 };
        const first = request.entries[0]!.seq;
        // A retried append (the same batch) is written once.
        if (index.chunks.some((chunk) => chunk.first === first)) return;
        ctx.set(chunkKey(first), request.entries);
        index.chunks.push({ first, count: request.entries.length });
        let total = index.chunks.reduce((sum, chunk) => sum + chunk.count, 0);
        while (total > limits.maxEntries && index.chunks.length > 1) {
          const oldest = index.chunks.shift()!;
          ctx.clear(chunkKey(oldest.first));
          index.dropped += oldest.count;
          total -= oldest.count;
        }
        ctx.set(INDEX, index);
      },
      forget: async (ctx: restate.ObjectContext) => {
        ctx.clearAll();
      },
      /** Entries with seq > `after`, oldest first, at most `limit`. */
      page: restate.handlers.object.shared(
        async (ctx: restate.ObjectSharedContext, request: { after?: number; limit?: number }): Promise<TimelinePage> => {
          const index = (await ctx.get<ChunkIndex>(INDEX)) ?? { chunks: [], dropped: 0 };
          const after = request.after ?? 0;
          const limit = request.limit ?? Number.POSITIVE_INFINITY;
          const wanted = index.chunks.filter((chunk) => chunk.first + chunk.count - 1 > after);
          const entries: TimelineEntry[] = [];
          for (const chunk of wanted) {
            if (entries.length >= limit) break;
            const batch = (await ctx.get<TimelineEntry[]>(chunkKey(chunk.first))) ?? [];
            for (const entry of batch) if (entry.seq > after && entries.length < limit) entries.push(entry);
          }
          return { entries, dropped: index.dropped };
        },
      ),
    },
    options: { enableLazyState: true },
  });
}

export type TimelineObject = ReturnType<typeof createTimelineObject>;
