/**
 * Owns group commit: everything buffered during one turn of the event loop (all the requests that
 * arrived together, the timer events and agent replies between them) is committed in one transaction,
 * and every `flush()` of that turn settles after it. A commit that fails rejects those flushes; the
 * store has already dropped what it held (nothing is retried later behind anyone's back).
 * May not: know what is being committed.
 */

// The real setImmediate, captured at load, so that a test's fake timers cannot hold back durability.
const realSetImmediate = globalThis.setImmediate;

export class GroupCommit {
  readonly #commit: () => void;
  readonly #hasPending: () => boolean;
  #scheduled = false;
  #waiting: { resolve(): void; reject(error: unknown): void }[] = [];

  /** `commit` writes everything buffered, or throws (having dropped it and told whoever must know). */
  constructor(commit: () => void, hasPending: () => boolean) {
    this.#commit = commit;
    this.#hasPending = hasPending;
  }

  /** A write was buffered: commit it at the end of this turn. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    realSetImmediate(() => this.#commitTurn());
  }

  flush(): Promise<void> {
    if (!this.#hasPending()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Commits now (reads that must see every write, close); throws what the commit threw. */
  commitNow(): void {
    if (!this.#hasPending()) return;
    this.#commitTurn(true);
  }

  #commitTurn(rethrow = false): void {
    this.#scheduled = false;
    const waiters = this.#waiting;
    this.#waiting = [];
    try {
      if (this.#hasPending()) this.#commit();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      if (rethrow) throw error;
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
