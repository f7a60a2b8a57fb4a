/**
 * Owns whether Restate is reachable from this process, as the engine's health: every ingress call
 * goes through `reach`, a success saying it is reachable, a failure of reach (network, timeout, a node
 * without leader, services not registered) that it is not, and why. A cluster out of reach is answered
 * 503 with Retry-After (the caller tries again later); any other failure stays an error (a bug).
 * May not: call the ingress itself.
 */
import { HttpCallError } from '@restatedev/restate-sdk-clients';
import { type EngineHealth, EngineUnavailableError } from '../engine/index.js';

/** What a refusal for an unreachable cluster advises the caller to wait. */
export const UNREACHABLE_RETRY_AFTER_MS = 2_000;

/** Why a failed ingress call means "out of reach"; undefined for anything else. */
export function unavailableReason(error: unknown, ingressUrl: string): string | undefined {
  if (error instanceof HttpCallError) {
    if (error.status === 404) return `Restate at ${ingressUrl} does not know the session services (not registered yet?)`;
    if (error.status >= 500 || error.status === 408 || error.status === 429) {
      return `Restate at ${ingressUrl} answered ${error.status}: ${error.responseText.slice(0, 200)}`;
    }
    return undefined;
  }
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `Restate at ${ingressUrl} did not answer in time`;
  if (error instanceof TypeError) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `Restate unreachable at ${ingressUrl}: ${cause?.code ?? cause?.message ?? error.message}`;
  }
  return undefined;
}

export class Reachability {
  #writable = true;
  #error: string | null = null;
  #since: number | null = null;
  #failedWrites = 0;

  constructor(
    readonly ingressUrl: string,
    private readonly now: () => number,
    /** Called when Restate goes out of reach and when it answers again, with the health as it now is. */
    private readonly changed: ((health: EngineHealth) => void) | undefined,
  ) {}

  get reachable(): boolean {
    return this.#writable;
  }

  health(): EngineHealth {
    return {
      writable: this.#writable,
      location: this.ingressUrl,
      error: this.#error,
      since: this.#since,
      failedWrites: this.#failedWrites,
    };
  }

  /** One ingress call, its outcome noted; a failure of reach becomes an EngineUnavailableError. */
  async reach<T>(call: () => PromiseLike<T>): Promise<T> {
    try {
      const result = await call();
      if (!this.#writable) {
        // The health it had while down (since when, why), now that it is back.
        const down = this.health();
        this.#writable = true;
        this.#error = null;
        this.#since = null;
        this.changed?.({ ...down, writable: true });
      }
      return result;
    } catch (error) {
      const reason = unavailableReason(error, this.ingressUrl);
      if (reason === undefined) throw error;
      this.#failedWrites++;
      this.#error = reason;
      if (this.#writable) {
        this.#writable = false;
        this.#since = this.now();
        this.changed?.(this.health());
      }
      throw new EngineUnavailableError(reason, UNREACHABLE_RETRY_AFTER_MS);
    }
  }
}
