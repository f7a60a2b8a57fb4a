import * as restate from '@restatedev/restate-sdk';
import { type DisposalReason, noDisposals, type SessionCounters, ZERO_COUNTERS } from '../../machines/session.machine.js';
import type { SessionDisposed } from '../engine/index.js';
import { addUsage, type UsageByProvider, usageSum } from '../session/index.js';
import { SERVICE_NAMES } from './handles.js';

/** A disposal as the index remembers it (the dashboard's "recent disposals"), numbered in the order the index heard of them. */
export interface IndexedDisposal extends SessionDisposed {
  readonly seq: number;
}

export interface IndexSummary {
  /** Disposals since the cluster began, by reason. */
  readonly disposals: Readonly<Record<DisposalReason, number>>;
  /** The counters of every disposed session, summed. */
  readonly disposedTotals: SessionCounters;
  /** Their usage per provider, summed (absent in summaries written before it was kept). */
  readonly disposedUsage?: UsageByProvider;
  /** The newest disposals (at most `RECENT`), oldest first. */
  readonly recent: readonly IndexedDisposal[];
}

const RECENT = 100;
const SUMMARY = 'summary';
const liveKey = (sessionDbId: number) => `s:${sessionDbId}`;

const emptySummary = (): IndexSummary => ({
  disposals: noDisposals(),
  disposedTotals: ZERO_COUNTERS,
  recent: [],
});

/**
 * The cluster's live sessions, so that a worker can list them: one key per live session (added when a
 * session object starts an incarnation, removed when it is disposed, both one-way messages from it),
 * and a summary of disposals. Lazy state: adding or removing reads nothing but the summary, whatever the
 * number of sessions. Two invocations per session's life, none per event.
 */
export const sessionIndex = restate.object({
  name: SERVICE_NAMES.index,
  handlers: {
    add: async (ctx: restate.ObjectContext, request: { sessionDbId: number }) => {
      ctx.set(liveKey(request.sessionDbId), 1);
    },
    remove: async (ctx: restate.ObjectContext, disposal: Omit<IndexedDisposal, 'seq'>) => {
      ctx.clear(liveKey(disposal.sessionDbId));
      const summary: IndexSummary & { seq?: number } = (await ctx.get<IndexSummary & { seq?: number }>(SUMMARY)) ?? emptySummary();
      const seq = (summary.seq ?? 0) + 1;
      const totals = { ...ZERO_COUNTERS, ...summary.disposedTotals };
      const usage = usageSum();
      addUsage(usage, summary.disposedUsage);
      addUsage(usage, disposal.usageByProvider);
      for (const key of Object.keys(totals) as (keyof SessionCounters)[]) totals[key] += disposal.counters[key] ?? 0;
      ctx.set(SUMMARY, {
        seq,
        disposals: { ...summary.disposals, [disposal.reason]: (summary.disposals[disposal.reason] ?? 0) + 1 },
        disposedTotals: totals,
        disposedUsage: usage,
        recent: [...summary.recent, { ...disposal, seq }].slice(-RECENT),
      });
    },
    /** The sessionDbIds of every live session. */
    live: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<number[]> => {
      const keys = await ctx.stateKeys();
      return keys.filter((key) => key.startsWith('s:')).map((key) => Number(key.slice(2)));
    }),
    summary: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<IndexSummary> => {
      const summary = (await ctx.get<IndexSummary & { seq?: number }>(SUMMARY)) ?? emptySummary();
      return {
        disposals: summary.disposals,
        disposedTotals: summary.disposedTotals,
        disposedUsage: summary.disposedUsage ?? {},
        recent: summary.recent,
      };
    }),
  },
  options: { enableLazyState: true },
});

export type SessionIndexObject = typeof sessionIndex;
