/**
 * Owns the rules every provider shares for turning a refusal into a kind (retryable, paused, fatal):
 * what status codes mean, how a `retry-after` is read, and which words of a provider's own prose mean
 * "this account cannot pay" whatever the status says (claude-mem #3652 lost batches to a spend limit
 * answered as a plain 400). Each provider module maps its SDK's errors onto these.
 * May not: call a provider.
 */
import { AgentError, type AgentErrorKind } from './agent.js';

/**
 * Prose that means the account (not the request, not the moment) is refused: billing, credits, spend
 * limits, quotas, usage limits of a subscription. Such a refusal pauses the queue instead of dropping
 * the batch, whatever status code came with it.
 */
const ACCOUNT_REFUSED =
  /credit balance is too low|insufficient[_ ](credits|funds|balance|quota)|spend(ing)? limit|usage limit|exceeded your (current )?quota|quota exceeded|resource[_ ]exhausted.*quota|billing|payment required|purchase credits|out of credits/i;

/** Prose that means a credential is missing or wrong. */
const CREDENTIALS_REFUSED = /invalid (x-)?api[_ -]?key|api key not valid|unauthori[sz]ed|authentication|not logged in|please run \/login/i;

export function accountRefused(text: string): boolean {
  return ACCOUNT_REFUSED.test(text);
}

export function credentialsRefused(text: string): boolean {
  return CREDENTIALS_REFUSED.test(text);
}

/** A `retry-after` header (seconds or an HTTP date) or `retry-after-ms`, in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  if (headers === undefined) return undefined;
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The kind an HTTP refusal has, from its status and what the provider said: 401/402/403 and account
 * prose pause; 408, 409, 429, 5xx (and 529, Anthropic's overloaded) are worth another attempt; any
 * other 4xx is about this request, which will never succeed as it is.
 */
export function kindOfStatus(status: number | undefined, text: string): AgentErrorKind {
  if (accountRefused(text)) return 'paused';
  // Gemini answers a wrong key with 400 INVALID_ARGUMENT "API key not valid".
  if (credentialsRefused(text)) return 'paused';
  if (status === 401 || status === 402 || status === 403) return 'paused';
  if (status === undefined || status === 408 || status === 409 || status === 429 || status >= 500) return 'retryable';
  if (status === 404) return 'paused'; // an unknown model or endpoint: the configuration, not the batch
  return 'fatal';
}

/** An AgentError for an HTTP refusal, its message naming the provider and what it said. */
export function refusal(
  provider: string,
  status: number | undefined,
  text: string,
  options: { readonly retryAfterMs?: number; readonly cause?: unknown } = {},
): AgentError {
  const kind = kindOfStatus(status, text);
  const said = `${status === undefined ? '' : `${status}: `}${text.slice(0, 300)}`;
  const why =
    kind === 'paused'
      ? accountRefused(text)
        ? 'refused this account (billing, credits or quota)'
        : 'refused the credentials or the configuration'
      : kind === 'retryable'
        ? 'is unavailable for now'
        : 'rejected the request';
  return new AgentError(kind, `${provider} ${why} (${said})`, options.retryAfterMs, { cause: options.cause });
}
