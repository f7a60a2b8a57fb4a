import type { AgentOutcome } from '../../machines/session.commands.js';
import type { AgentFailure, AgentInput, AgentOutput, AgentUsage, AnsweredItem } from '../../machines/session.machine.js';
import { asAgentFailure } from '../../machines/session.machine.js';
import type { TokenEstimator } from '../history/index.js';

/**
 * What an agent is asked: a batch of one session's work, with its bounded history, answered by ONE
 * reply. `items` are the queued items the reply answers, oldest first (one, or a run of observations,
 * up to `maxBatchItems`); `item` is the batch as one item, its user message: the item itself for a batch
 * of one, the items' prompts joined by a blank line for more. An agent that reads only `item.prompt`
 * (as before batches) therefore answers the whole batch in one call; one that wants structure reads
 * `items`. A prompt (user turn) or a summarize is always a batch of its own.
 */
export type AgentRequest = AgentInput;

export type { AgentUsage };

export interface AgentReply {
  readonly text: string;
  /** Tokens as the provider reported them, cache reads and writes included where it reports them. */
  readonly usage?: AgentUsage;
  /** Which provider answered: defaults to the agent's `name`; a fallback chain names the one that did. */
  readonly provider?: string;
  /** The model that answered, when the provider says. */
  readonly model?: string;
}

/**
 * A provider of replies. `signal` aborts when the session leaves `processing` (done elsewhere,
 * deleted, evicted, timed out, shut down): an agent must stop its work and settle promptly.
 * Reject with an {@link AgentError} to say whether the failure is worth retrying; a `fatal` rejection
 * of a batch of several sends its items again, one per call, so that one bad item does not sink the rest.
 */
export interface Agent {
  /** The provider's id (`local`, `claude`, `gemini`, `openrouter`, `openai-compatible`, or a library user's own): logged with each reply it gives. */
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

/** Turns whatever an agent threw into the failure the machine routes on (an AgentError keeps its kind and Retry-After). */
export function toAgentFailure(error: unknown, at: number): AgentFailure {
  if (error instanceof AgentError) {
    return {
      kind: error.kind,
      message: error.message,
      at,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }
  return asAgentFailure(error, at);
}

/**
 * Turns a reply to `request` into the output the machine logs, on either engine: the reply's tokens
 * estimated once, the items it answers (what the memories derived from it are attributed to), the
 * provider that answered (the agent's name unless a fallback chain says which of its providers did),
 * usage as reported.
 */
export function toAgentOutput(
  request: AgentRequest,
  reply: AgentReply,
  agent: Agent,
  at: number,
  estimateTokens: TokenEstimator,
): AgentOutput {
  const answers = request.items.map(
    ({ id, kind, promptNumber, toolUseId }): AnsweredItem => ({
      id,
      kind,
      ...(promptNumber === undefined ? {} : { promptNumber }),
      ...(toolUseId === undefined ? {} : { toolUseId }),
    }),
  );
  return {
    reply: reply.text,
    replyTokens: estimateTokens(reply.text),
    at,
    ...(reply.usage === undefined ? {} : { usage: reply.usage }),
    provider: reply.provider ?? agent.name,
    ...(reply.model === undefined ? {} : { model: reply.model }),
    answers,
  };
}

/**
 * Runs one agent call for either engine and hands its outcome to `settled`, never a thrown error: the
 * reply as the output the machine logs (timed by `now` when it arrived), or the failure the machine
 * routes on (a synchronous throw included). Settles once, one promise turn after the agent's own.
 */
export function callAgent(
  agent: Agent,
  request: AgentRequest,
  signal: AbortSignal,
  options: { readonly now: () => number; readonly estimateTokens: TokenEstimator },
  settled: (outcome: AgentOutcome) => void,
): void {
  let reply: Promise<AgentReply>;
  try {
    reply = agent.run(request, signal);
  } catch (error) {
    reply = Promise.reject(error);
  }
  reply.then(
    (answer) => settled({ ok: true, output: toAgentOutput(request, answer, agent, options.now(), options.estimateTokens) }),
    (error: unknown) => settled({ ok: false, failure: toAgentFailure(error, options.now()) }),
  );
}
