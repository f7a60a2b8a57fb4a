import * as restate from '@restatedev/restate-sdk';
import type { SessionObject } from './session-object.js';

/** The one key of the slot pool: every service process of the cluster shares it. */
export const SLOT_POOL_KEY = 'agents';

interface Lease {
  readonly lease: string;
  /** The session object's key the grant goes to. */
  readonly session: string;
}

interface PoolState {
  capacity: number;
  holders: Lease[];
  /** Arrival order: the head is granted first. */
  waiting: Lease[];
  granted: number;
}

export interface SlotPoolView {
  readonly capacity: number;
  readonly inUse: number;
  readonly waiting: number;
  readonly granted: number;
  readonly holders: readonly string[];
}

const sessionApi: SessionObject = { name: 'session' };

const POOL = 'pool';

async function load(ctx: restate.ObjectContext | restate.ObjectSharedContext): Promise<PoolState> {
  return (await ctx.get<PoolState>(POOL)) ?? { capacity: 1, holders: [], waiting: [], granted: 0 };
}

/** Grants what capacity allows, first come first served; each grant is a one-way message to the session. */
function pump(ctx: restate.ObjectContext, pool: PoolState): void {
  while (pool.holders.length < pool.capacity && pool.waiting.length > 0) {
    const next = pool.waiting.shift()!;
    pool.holders.push(next);
    pool.granted++;
    ctx.objectSendClient(sessionApi, next.session).slotGranted({ lease: next.lease });
  }
  ctx.set(POOL, pool);
}

/**
 * Agent slots across the whole cluster: a FIFO semaphore as one virtual object. Restate runs its
 * exclusive handlers one at a time, so acquire and release never race. A lease is held by whoever
 * runs the agent call (see agent-service.ts), which releases it on every way out: reply, failure,
 * cancellation (DELETE, timeout) and, after a crash, once Restate has retried the call to its end.
 * A release of a lease that is only waiting withdraws it; of an unknown lease, does nothing.
 */
export const slotPool = restate.object({
  name: 'agentSlots',
  handlers: {
    acquire: async (ctx: restate.ObjectContext, request: { lease: string; session: string; capacity: number }) => {
      const pool = await load(ctx);
      pool.capacity = request.capacity;
      if (!pool.holders.some((held) => held.lease === request.lease) && !pool.waiting.some((queued) => queued.lease === request.lease)) {
        pool.waiting.push({ lease: request.lease, session: request.session });
      }
      pump(ctx, pool);
    },
    release: async (ctx: restate.ObjectContext, request: { lease: string }) => {
      const pool = await load(ctx);
      pool.holders = pool.holders.filter((held) => held.lease !== request.lease);
      pool.waiting = pool.waiting.filter((queued) => queued.lease !== request.lease);
      pump(ctx, pool);
    },
    stats: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<SlotPoolView> => {
      const pool = await load(ctx);
      return {
        capacity: pool.capacity,
        inUse: pool.holders.length,
        waiting: pool.waiting.length,
        granted: pool.granted,
        holders: pool.holders.map((held) => held.session),
      };
    }),
  },
});

export type SlotPoolObject = typeof slotPool;
