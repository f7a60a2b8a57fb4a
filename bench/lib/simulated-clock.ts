import FlatQueue from 'flatqueue';
import type { Clock } from '../../src/clock/index.js';

/** Lets every pending promise callback and I/O callback run. */
export const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A discrete-event clock for the soak: 72 hours pass in minutes. Timers fire in time order (ties in the
 * order they were set), each at its own time, with promise callbacks run between them.
 */
export class SimulatedClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  readonly #queue = new FlatQueue<number>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.#nextId++;
    const at = this.#now + Math.max(0, ms);
    this.#timers.set(id, { at, callback });
    // Ties broken by creation order; simulated times stay far below 2^33 ms, so this is exact.
    this.#queue.push(id, at * 1_048_576 + (id % 1_048_576));
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Fires every timer due at or before `time`, in order, then stands at `time`. */
  async advanceTo(time: number): Promise<void> {
    while (this.#queue.length > 0 && this.#queue.peekValue()! / 1_048_576 <= time) {
      const id = this.#queue.pop()!;
      const timer = this.#timers.get(id);
      if (timer === undefined) continue;
      this.#timers.delete(id);
      this.#now = Math.max(this.#now, timer.at);
      timer.callback();
      await drain();
    }
    this.#now = Math.max(this.#now, time);
    if (this.#queue.length === 0) this.#queue.shrink();
  }
}
