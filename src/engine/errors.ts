/**
 * The errors every engine may throw: out of reach (answered 503 with Retry-After: the caller tries again
 * later), and a start that cannot succeed for a reason the user can act on.
 */

/** The engine could not be reached in time to read or do what was asked. */
export class EngineUnavailableError extends Error {
  override readonly name = 'EngineUnavailableError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The worker (its engine) could not start for a reason the user can act on; the message says what to do. */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
}
