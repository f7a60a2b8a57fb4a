import type { Clock } from '../clock/index.js';
import { grantSlots, releaseSlot, requestSlot, type SlotStats, type SlotStorage, withdrawSlotRequest } from '../engine/index.js';

/** Earlier name of the contract's {@link SlotStats}. */
export type SlotPoolStats = SlotStats;

/** A session's request for a slot, and when it was made. */
interface SlotRequest {
  readonly key: number;
  readonly requestedAt: number;
}

/**
 * Agent slots: the shared slot rule (src/engine/slot-queue.ts: at most `capacity` sessions hold one at
 * a time, granted first come, first served) over this process's storage, a Map and a Set.
 *
 * Grants are handed out later (by default from a microtask), never from inside the requesting session's
 * own transition, so `grant` sees a session that is at rest and can tell whether it really took the
 * slot. A session that has moved on by then (deleted while waiting, say) returns false and the slot
 * goes to the next. The registry schedules the hand-out after the log has committed what came before,
 * so an agent call never starts on work that is not durable.
 */
export class SlotPool {
  readonly #capacity: number;
  readonly #grant: (sessionDbId: number, waitedMs: number) => boolean;
  readonly #clock: Clock;
  /** Insertion order is arrival order. */
  readonly #waiting = new Map<number, SlotRequest>();
  readonly #holders = new Set<number>();
  readonly #storage: SlotStorage<number, SlotRequest>;
  readonly #schedule: (pump: () => void) => void;
  #granted = 0;
  #pumpScheduled = false;
  #frozen = false;

  constructor(options: {
    capacity: number;
    clock: Clock;
    grant: (sessionDbId: number, waitedMs: number) => boolean;
    /** When to hand out slots that became available: default, in a microtask. */
    schedule?: (pump: () => void) => void;
  }) {
    this.#capacity = options.capacity;
    this.#clock = options.clock;
    this.#grant = options.grant;
    this.#schedule = options.schedule ?? queueMicrotask;
    const waiting = this.#waiting;
    const holders = this.#holders;
    this.#storage = {
      held: () => holders.size,
      holds: (key) => holders.has(key),
      hold: (request) => holders.add(request.key),
      drop: (key) => holders.delete(key),
      isWaiting: (key) => waiting.has(key),
      enqueue: (request) => waiting.set(request.key, request),
      first: () => waiting.values().next().value,
      withdraw: (key) => waiting.delete(key),
    };
  }

  request(sessionDbId: number): void {
    if (requestSlot(this.#storage, { key: sessionDbId, requestedAt: this.#clock.now() })) this.#schedulePump();
  }

  /** Withdraws a request that has not been granted yet; a no-op otherwise. */
  cancel(sessionDbId: number): void {
    withdrawSlotRequest(this.#storage, sessionDbId);
  }

  release(sessionDbId: number): void {
    // Nobody waiting: nothing to hand out (a later request schedules its own hand-out).
    if (releaseSlot(this.#storage, sessionDbId) && this.#waiting.size > 0) this.#schedulePump();
  }

  /** No slot is granted any more (shutdown); holders keep theirs until they release them. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Resolves when no slot is held, or when `drainMs` has passed. */
  drain(drainMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = this.#clock.now() + drainMs;
      const poll = () => {
        if (this.#holders.size === 0 || this.#clock.now() >= deadline) resolve();
        else this.#clock.setTimeout(poll, Math.min(20, Math.max(1, deadline - this.#clock.now())));
      };
      poll();
    });
  }

  /** Forgets every holder and waiter: the sessions were stopped without leaving their states. */
  clear(): void {
    this.#waiting.clear();
    this.#holders.clear();
  }

  stats(): SlotStats {
    return { capacity: this.#capacity, inUse: this.#holders.size, waiting: this.#waiting.size, granted: this.#granted };
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    this.#schedule(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#frozen) return;
    this.#granted += grantSlots(this.#storage, this.#capacity, (request) =>
      this.#grant(request.key, this.#clock.now() - request.requestedAt),
    );
  }
}
