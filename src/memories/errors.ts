/**
 * Owns how a memory store says why it failed, whatever it is: out of reach for now (try again later:
 * HTTP answers 503, Restate retries the write), or refusing what it was given for good (retrying the
 * same input can never succeed).
 * May not: decide what a caller does about it.
 */

/** The store cannot be reached (its database is down, restarting, or out of connections); nothing was changed. */
export class MemoryStoreUnavailableError extends Error {
  override readonly name = 'MemoryStoreUnavailableError';
  constructor(
    message: string,
    /** How long a caller should wait before trying again. */
    readonly retryAfterMs: number,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The store refused these memories and would refuse them again (a value it cannot hold); nothing was stored. */
export class MemoryRejectedError extends Error {
  override readonly name = 'MemoryRejectedError';
}
