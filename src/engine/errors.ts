/**
 * Owns telling a cluster out of reach from a bug: the first is answered 503 with Retry-After (the
 * caller tries again later), the second stays an error.
 */
import { HttpCallError } from '@restatedev/restate-sdk-clients';

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

/** Why a failed ingress call means "out of reach" (network, timeout, a node without leader, services not registered); undefined for anything else. */
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
