import * as restate from '@restatedev/restate-sdk';
import type { Disposal, SessionCounters } from '../../machines/session.machine.js';

/** One event a session's machine processed, as its timeline keeps it. */
export interface TimelineEntry {
  readonly seq: number;
  readonly type: string;
  readonly at: number;
  /** The state the event led to, e.g. `active.processing`. */
  readonly state: string;
  readonly payload: unknown;
}

/** What stays of a disposed session: why and when it went, and enough to revive it under the same id. */
export interface Tombstone {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly disposal: Disposal;
  readonly promptNumber: number;
  readonly counters: SessionCounters;
}

export interface TimelineView {
  readonly entries: readonly TimelineEntry[];
  /** Entries dropped from the front to keep the timeline bounded. */
  readonly dropped: number;
  readonly tombstone: Tombstone | null;
}

export interface TimelineLimits {
  /** Entries kept per session (the newest). */
  readonly maxEntries: number;
  /** How long a disposed session's timeline and tombstone are kept. */
  readonly retentionMs: number;
}

const ENTRIES = 'entries';
const DROPPED = 'dropped';
const TOMBSTONE = 'tombstone';
/** Which disposal the pending `forget` belongs to: a revived session's timeline is not forgotten. */
const FORGET_TOKEN = 'forgetToken';

/**
 * A session's timeline and, once it is disposed, its tombstone: a virtual object of its own, keyed like
 * the session, so that the session object itself keeps nothing after disposal while the reason and the
 * events stay queryable. Bounded in entries, and forgotten `retentionMs` after the disposal (the
 * cluster's version of the embedded log's compaction).
 */
export function createTimelineObject(limits: TimelineLimits) {
  const timelineObject = restate.object({
    name: 'sessionTimeline',
    handlers: {
      append: async (ctx: restate.ObjectContext, request: { entries: TimelineEntry[] }) => {
        let entries = (await ctx.get<TimelineEntry[]>(ENTRIES)) ?? [];
        if (request.entries.some((entry) => entry.type === 'xstate.init')) {
          // A new incarnation: the previous disposal no longer describes this session.
          ctx.clear(TOMBSTONE);
          ctx.clear(FORGET_TOKEN);
        }
        entries = entries.concat(request.entries);
        const surplus = entries.length - limits.maxEntries;
        if (surplus > 0) {
          entries = entries.slice(surplus);
          ctx.set(DROPPED, ((await ctx.get<number>(DROPPED)) ?? 0) + surplus);
        }
        ctx.set(ENTRIES, entries);
      },
      disposed: async (ctx: restate.ObjectContext, tombstone: Tombstone) => {
        const token = ctx.rand.uuidv4();
        ctx.set(TOMBSTONE, tombstone);
        ctx.set(FORGET_TOKEN, token);
        ctx.objectSendClient(timelineApi, ctx.key).forget({ token }, restate.rpc.sendOpts({ delay: { milliseconds: limits.retentionMs } }));
      },
      forget: async (ctx: restate.ObjectContext, request: { token: string }) => {
        if ((await ctx.get<string>(FORGET_TOKEN)) === request.token) ctx.clearAll();
      },
      get: restate.handlers.object.shared(
        async (ctx: restate.ObjectSharedContext): Promise<TimelineView> => ({
          entries: (await ctx.get<TimelineEntry[]>(ENTRIES)) ?? [],
          dropped: (await ctx.get<number>(DROPPED)) ?? 0,
          tombstone: (await ctx.get<Tombstone>(TOMBSTONE)) ?? null,
        }),
      ),
      tombstone: restate.handlers.object.shared(
        async (ctx: restate.ObjectSharedContext): Promise<Tombstone | null> => (await ctx.get<Tombstone>(TOMBSTONE)) ?? null,
      ),
    },
  });
  const timelineApi: typeof timelineObject = { name: 'sessionTimeline' };
  return timelineObject;
}

export type TimelineObject = ReturnType<typeof createTimelineObject>;
