import * as restate from '@restatedev/restate-sdk';
import { grantSlots, releaseSlot, requestSlot, type SlotStats, type SlotStorage, withdrawSlotRequest } from '../engine/index.js';
import { SERVICE_NAMES, sessionApi } from './handles.js';

/** A lease as the pool's state keeps it. */
interface Lease {
  readonly lease: string;
  /** The session object's key the grant goes to. */
  readonly session: string;
}

/** A lease as the slot rule sees it: keyed by the lease. */
interface LeaseRequest {
  readonly key: string;
  readonly session: string;
}

interface PoolState {
  capacity: number;
  holders: Lease[];
  /** Arrival order: the head is granted first. */
  waiting: Lease[];
  granted: number;
}

export interface SlotPoolView extends SlotStats {
  /** The sessions holding a slot. */
  readonly holders: readonly string[];
}

/** A lease to take (and, in an exchange, one to give back first). */
export interface SlotRequest {
  readonly lease: string;
  readonly session: string;
  readonly capacity: number;
  /** Given back before the new lease queues: the session's previous agent call ended. */
  readonly release?: string;
  /** The request came one way (nobody waits for an answer): its grant is a message even when a slot is free now. */
  readonly grantByMessage?: boolean;
}

/** A grant as the pool sends it to a session, or answers it: with the slots left free, the session's hint for its next request. */
export interface SlotGrant {
  readonly lease: string;
  readonly free: number;
}

const POOL = 'pool';

async function load(ctx: restate.ObjectContext | restate.ObjectSharedContext): Promise<PoolState> {
  return (await ctx.get<PoolState>(POOL)) ?? { capacity: 1, holders: [], waiting: [], granted: 0 };
}

/** The pool's state as the shared slot rule's storage (src/engine/slot-queue.ts): arrays, kept in the object's state. */
function storage(pool: PoolState): SlotStorage<string, LeaseRequest> {
  const without = (leases: Lease[], key: string) => leases.filter((held) => held.lease !== key);
  return {
    held: () => pool.holders.length,
    holds: (key) => pool.holders.some((held) => held.lease === key),
    hold: (request) => pool.holders.push({ lease: request.key, session: request.session }),
    drop(key) {
      const before = pool.holders.length;
      pool.holders = without(pool.holders, key);
      return pool.holders.length < before;
    },
    isWaiting: (key) => pool.waiting.some((queued) => queued.lease === key),
    enqueue: (request) => pool.waiting.push({ lease: request.key, session: request.session }),
    first: () => {
      const head = pool.waiting[0];
      return head === undefined ? undefined : { key: head.lease, session: head.session };
    },
    withdraw(key) {
      const before = pool.waiting.length;
      pool.waiting = without(pool.waiting, key);
      return pool.waiting.length < before;
    },
  };
}

/** Gives a lease back, holding or waiting. */
function giveBack(slots: SlotStorage<string, LeaseRequest>, lease: string): void {
  releaseSlot(slots, lease);
  withdrawSlotRequest(slots, lease);
}

/** Grants free slots to the leases first in line (the shared rule), adding each to `granted`. */
function grantInLine(pool: PoolState, slots: SlotStorage<string, LeaseRequest>, granted: LeaseRequest[]): void {
  pool.granted += grantSlots(slots, pool.capacity, (lease) => {
    granted.push(lease);
    return true;
  });
}

/**
 * Sends each grant of this turn to its session, with the slots left free (the session's hint for its
 * next request), except the grant of `answered`, which is the call's answer. Returns the slots left free.
 */
function announceGrants(ctx: restate.ObjectContext, pool: PoolState, granted: readonly LeaseRequest[], answered?: string): number {
  const free = Math.max(0, pool.capacity - pool.holders.length);
  for (const lease of granted)
    if (lease.key !== answered) ctx.objectSendClient(sessionApi, lease.session).slotGranted({ lease: lease.key, free } satisfies SlotGrant);
  return free;
}

/**
 * Agent slots across the whole cluster: the shared slot rule (FIFO, bounded) as one virtual object.
 * Restate runs its exclusive handlers one at a time, so acquire and release never race. `acquire`
 * asked by a call answers at once: a free slot (nobody waiting before it) is granted in the answer, so
 * the session starts its agent call in the same handler, with no grant message; otherwise the lease
 * queues and its grant is a message later. Asked one way (`grantByMessage`: a session that last found
 * the pool full, so that no hook call waits in this one object's queue), every grant is a message.
 * Answers and grants say how many slots are left free: the session's hint for how to ask next time. A
 * lease is held by whoever runs the agent call; it goes back on every way out (see agent-service.ts and
 * the session's `agentResult`). A release of a lease that is only waiting withdraws it; of an unknown
 * lease (released already), does nothing.
 */
export const slotPool = restate.object({
  name: SERVICE_NAMES.slots,
  handlers: {
    acquire: async (ctx: restate.ObjectContext, request: SlotRequest): Promise<{ granted: boolean; free: number }> => {
      const pool = await load(ctx);
      pool.capacity = request.capacity;
      const slots = storage(pool);
      const granted: LeaseRequest[] = [];
      if (request.release !== undefined) giveBack(slots, request.release);
      grantInLine(pool, slots, granted);
      requestSlot(slots, { key: request.lease, session: request.session });
      grantInLine(pool, slots, granted);
      ctx.set(POOL, pool);
      // Each grant to another session is a one-way message to it; this request's own is the answer (or a message, asked so).
      const free = announceGrants(ctx, pool, granted, request.grantByMessage === true ? undefined : request.lease);
      return { granted: slots.holds(request.lease), free };
    },
    release: async (ctx: restate.ObjectContext, request: { lease: string }) => {
      const pool = await load(ctx);
      const slots = storage(pool);
      giveBack(slots, request.lease);
      const granted: LeaseRequest[] = [];
      grantInLine(pool, slots, granted);
      ctx.set(POOL, pool);
      announceGrants(ctx, pool, granted);
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
