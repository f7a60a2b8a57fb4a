/**
 * The agent slot pool's rule, written once for both engines: at most `capacity` holders, requests
 * granted first come, first served, a request that holds or waits already is not queued again, a
 * withdrawn request leaves the queue, and a grant its requester no longer wants (it moved on: deleted,
 * evicted) goes to the next in line. Each engine keeps only the storage: the embedded registry a Map
 * and a Set in memory, the Restate slot object arrays in its durable state.
 * May not: keep state, read a clock or send anything; the engine does that around it.
 */

/** One request for a slot: its key (a session, a lease) and whatever the engine keeps with it. */
export interface SlotRequest<K> {
  readonly key: K;
}

/** Where a pool keeps its holders and its queue, in arrival order. */
export interface SlotStorage<K, R extends SlotRequest<K>> {
  /** How many hold a slot. */
  held(): number;
  holds(key: K): boolean;
  hold(request: R): void;
  /** Lets go of a held slot; false if `key` held none. */
  drop(key: K): boolean;
  isWaiting(key: K): boolean;
  /** Appends to the queue. */
  enqueue(request: R): void;
  /** The oldest waiting request. */
  first(): R | undefined;
  /** Takes `key`'s request out of the queue; false if it was not waiting. */
  withdraw(key: K): boolean;
}

/** Queues a request unless it holds a slot or waits already; true if queued. */
export function requestSlot<K, R extends SlotRequest<K>>(pool: SlotStorage<K, R>, request: R): boolean {
  if (pool.holds(request.key) || pool.isWaiting(request.key)) return false;
  pool.enqueue(request);
  return true;
}

/** A request not granted yet leaves the queue (a no-op otherwise). */
export function withdrawSlotRequest<K, R extends SlotRequest<K>>(pool: SlotStorage<K, R>, key: K): boolean {
  return pool.withdraw(key);
}

/** A held slot goes back; true if `key` held one (then someone waiting may be granted). */
export function releaseSlot<K, R extends SlotRequest<K>>(pool: SlotStorage<K, R>, key: K): boolean {
  return pool.drop(key);
}

/**
 * Hands free slots to the queue's head, in order, while fewer than `capacity` hold one. `grant` tells
 * the requester (the engine's delivery) and answers whether it took the slot; a requester that moved on
 * answers false and the slot goes to the next. Returns how many slots were taken.
 */
export function grantSlots<K, R extends SlotRequest<K>>(pool: SlotStorage<K, R>, capacity: number, grant: (request: R) => boolean): number {
  let taken = 0;
  for (let next = pool.first(); next !== undefined && pool.held() < capacity; next = pool.first()) {
    pool.withdraw(next.key);
    pool.hold(next);
    if (grant(next)) taken++;
    else pool.drop(next.key);
  }
  return taken;
}
