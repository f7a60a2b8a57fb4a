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

/** A lease to take (and, in an exchange, one to give back first). */
export interface SlotRequest {
  readonly lease: string;
  readonly session: string;
  readonly capacity: number;
  /** Given back before the new lease queues: the session's previous agent call ended. */
  readonly release?: string;
}

const sessionApi: SessionObject = { name: 'session' };

const POOL = 'pool';

async function load(ctx: restate.ObjectContext | restate.ObjectSharedContext): Promise<PoolState> {
  return (await ctx.get<PoolState>(POOL)) ?? { capacity: 1, holders: [], waiting: [], granted: 0 };
}

function release(pool: PoolState, lease: string): void {
  pool.holders = pool.holders.filter((held) => held.lease !== lease);
  pool.waiting = pool.waiting.filter((queued) => queued.lease !== lease);
}

/** Grants what capacity allows to those waiting, first come first served; each grant is a one-way message to its session. */
function pump(ctx: restate.ObjectContext, pool: PoolState): void {
  while (pool.holders.length < pool.capacity && pool.waiting.length > 0) {
    const next = pool.waiting.shift()!;
    pool.holders.push(next);
    pool.granted++;
    ctx.objectSendClient(sessionApi, next.session).slotGranted({ lease: next.lease });
  }
}

/**
 * Agent slots across the whole cluster: a FIFO semaphore as one virtual object. Restate runs its
 * exclusive handlers one at a time, so acquire and release never race. `acquire` answers at once: a
 * free slot (nobody waiting before it) is granted in the answer, so the session starts its agent call
 * in the same handler, with no grant message; otherwise the lease queues and its grant is a message
 * later. A lease is held by whoever runs the agent call; it goes back on every way out (see
 * agent-service.ts and the session's `agentResult`). A release of a lease that is only waiting
 * withdraws it; of an unknown lease (released already), does nothing.
 */
export const slotPool = restate.object({
  name: 'agentSlots',
  handlers: {
    acquire: async (ctx: restate.ObjectContext, request: SlotRequest): Promise<{ granted: boolean }> => {
      const pool = await load(ctx);
      pool.capacity = request.capacity;
      if (request.release !== undefined) release(pool, request.release);
      pump(ctx, pool);
      const held = pool.holders.some((holder) => holder.lease === request.lease);
      let granted = held;
      if (!held && !pool.waiting.some((queued) => queued.lease === request.lease)) {
        if (pool.waiting.length === 0 && pool.holders.length < pool.capacity) {
          pool.holders.push({ lease: request.lease, session: request.session });
          pool.granted++;
          granted = true;
        } else {
          pool.waiting.push({ lease: request.lease, session: request.session });
        }
      }
      ctx.set(POOL, pool);
      return { granted };
    },
    release: async (ctx: restate.ObjectContext, request: { lease: string }) => {
      const pool = await load(ctx);
      release(pool, request.lease);
      pump(ctx, pool);
      ctx.set(POOL, pool);
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
