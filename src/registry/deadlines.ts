import FlatQueue from 'flatqueue';
import { type Clock, unrefTimer } from '../clock/index.js';

/**
 * One clock timer for many sessions: the earliest of their due times arms it, and when it fires every
 * due session is handed to `onDue`. Entries are never removed, only outlived: `onDue` checks that the
 * session still wants what it was scheduled for. Ids and due times live in two flat arrays, a few bytes
 * per session, instead of a timer object each.
 */
export class DeadlineTimer {
  readonly #clock: Clock;
  readonly #onDue: (sessionDbId: number) => void;
  readonly #queue = new FlatQueue<number>();
  #handle: unknown;
  #armedFor = Infinity;

  constructor(clock: Clock, onDue: (sessionDbId: number) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#queue.length;
  }

  schedule(sessionDbId: number, dueAt: number): void {
    this.#queue.push(sessionDbId, dueAt);
    if (dueAt < this.#armedFor) this.#arm(dueAt);
  }

  /** Forgets every entry and disarms the timer. */
  clear(): void {
    this.#queue.clear();
    this.#queue.shrink();
    this.#disarm();
  }

  #arm(dueAt: number): void {
    this.#disarm();
    this.#armedFor = dueAt;
    this.#handle = this.#clock.setTimeout(() => this.#fire(), Math.max(0, dueAt - this.#clock.now()));
    unrefTimer(this.#handle);
  }

  #disarm(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedFor = Infinity;
  }

  #fire(): void {
    this.#handle = undefined;
    this.#armedFor = Infinity;
    const now = this.#clock.now();
    while (this.#queue.length > 0 && this.#queue.peekValue()! <= now) this.#onDue(this.#queue.pop()!);
    const next = this.#queue.peekValue();
    if (next !== undefined) this.#arm(next);
    else this.#queue.shrink(); // a burst's arrays are given back once it is over
  }
}
