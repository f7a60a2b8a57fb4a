import type { AgentInput } from '../../machines/session.machine.js';

/** What an agent is asked: the head work item of one session, with its bounded history. */
export type AgentRequest = AgentInput;

export interface AgentReply {
  readonly text: string;
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
}

/**
 * A provider of replies. `signal` aborts when the session leaves `processing` (done elsewhere,
 * deleted, evicted, timed out, shut down): an agent must stop its work and settle promptly.
 * Reject with an {@link AgentError} to say whether the failure is worth retrying.
 */
export interface Agent {
  readonly name: string;
  run(request: AgentRequest, signal: AbortSignal): Promise<AgentReply>;
}

/**
 * - `retryable`: transient (network, 429, 5xx); retried with exponential backoff, a bounded number of times.
 * - `paused`: the provider refuses this account (auth, billing, quota); the session's queue rests, intact.
 * - `fatal`: this item can never succeed (a 400 about its content); dropped at once and logged.
 */
export type AgentErrorKind = 'retryable' | 'paused' | 'fatal';

export class AgentError extends Error {
  override readonly name = 'AgentError';
  constructor(
    readonly kind: AgentErrorKind,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
