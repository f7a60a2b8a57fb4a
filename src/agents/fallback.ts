/**
 * Owns fallback between providers (CLAUDE_MEM_FALLBACK_PROVIDERS): one Agent made of an ordered list,
 * which the machine sees as any other. A batch goes to the first provider that is not resting; when
 * that one refuses it as `paused` (auth, billing, quota), or as `retryable` on the batch's last attempt,
 * the same call hands the same request (the same bounded history: the session's, not a copy per
 * provider) to the next one, and the refusing provider rests: it is skipped until its back-off has
 * passed (its Retry-After, or 1 min doubling per refusal in a row up to 30 min), then tried first again.
 * A `retryable` refusal before the last attempt is thrown as it is, so the machine's backoff and attempt
 * counting stay what they are without fallback; a `fatal` one is about the batch, not the provider, and
 * is thrown too (the machine splits the batch). The reply names the provider that answered it.
 * May not: keep anything per session: the only state is each provider's rest, shared by all sessions.
 */
import { type Agent, AgentError, type AgentReply } from './agent.js';

export interface FallbackOptions {
  /** First rest of a provider that handed a batch on; doubles per refusal in a row. Default 60 s. */
  readonly restMs?: number;
  /** Longest rest. Default 30 min. */
  readonly maxRestMs?: number;
  /**
   * Each provider's share of a call: a provider that has not answered within it is abandoned as
   * `retryable`, so that a stalled provider hands over before the session's agent timeout ends the
   * whole call. Default: none (the session's agent timeout alone).
   */
  readonly perProviderTimeoutMs?: number;
  /** The clock the rests are measured on. Default Date.now. */
  readonly now?: () => number;
  /** Told each time a batch is handed on (the worker logs it). Default none. */
  readonly onHandOver?: (event: {
    readonly from: string;
    readonly to: string;
    readonly sessionDbId: number;
    readonly reason: AgentError;
  }) => void;
}

interface Rest {
  until: number;
  refusals: number;
}

/** The default attempts per batch, for inputs that do not say (see AgentInput.maxAttempts). */
const DEFAULT_MAX_ATTEMPTS = 3;

export function createFallbackAgent(agents: readonly Agent[], options: FallbackOptions = {}): Agent {
  if (agents.length === 0) throw new Error('a fallback chain needs at least one provider');
  if (agents.length === 1) return agents[0]!;
  const restMs = options.restMs ?? 60_000;
  const maxRestMs = options.maxRestMs ?? 30 * 60_000;
  const now = options.now ?? Date.now;
  const rests: Rest[] = agents.map(() => ({ until: 0, refusals: 0 }));

  const rest = (index: number, error: AgentError) => {
    const state = rests[index]!;
    state.refusals++;
    const backoff = Math.min(maxRestMs, restMs * 2 ** (state.refusals - 1));
    state.until = now() + Math.max(backoff, error.retryAfterMs ?? 0);
  };

  const callOne = async (agent: Agent, request: Parameters<Agent['run']>[0], signal: AbortSignal): Promise<AgentReply> => {
    const timeoutMs = options.perProviderTimeoutMs;
    if (timeoutMs === undefined) return agent.run(request, signal);
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await agent.run(request, AbortSignal.any([signal, timeout]));
    } catch (error) {
      if (timeout.aborted && !signal.aborted) {
        throw new AgentError('retryable', `${agent.name} gave no answer within its ${timeoutMs} ms share of the call`, undefined, {
          cause: error,
        });
      }
      throw error;
    }
  };

  return {
    name: agents.map((agent) => agent.name).join('>'),
    async run(request, signal) {
      const lastAttempt = request.attempt >= (request.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
      const at = now();
      const order = agents.map((_, index) => index).filter((index) => rests[index]!.until <= at);
      if (order.length === 0) {
        const wakes = Math.min(...rests.map((state) => state.until));
        throw new AgentError(
          'paused',
          `every provider is resting after refusing (${agents.map((a) => a.name).join(', ')})`,
          Math.max(1_000, wakes - at),
        );
      }
      let paused: AgentError | undefined;
      let last: AgentError | undefined;
      for (const [position, index] of order.entries()) {
        const agent = agents[index]!;
        try {
          const reply = await callOne(agent, request, signal);
          rests[index]!.refusals = 0;
          return { ...reply, provider: reply.provider ?? agent.name };
        } catch (error) {
          if (signal.aborted) throw error;
          const refusal =
            error instanceof AgentError
              ? error
              : new AgentError('retryable', `${agent.name}: ${(error as Error).message}`, undefined, { cause: error });
          if (refusal.kind === 'fatal') throw refusal;
          // Not yet the batch's last attempt: the machine backs off and this provider tries again.
          if (refusal.kind === 'retryable' && !lastAttempt) throw refusal;
          rest(index, refusal);
          if (refusal.kind === 'paused') paused = refusal;
          last = refusal;
          const next = order[position + 1];
          if (next !== undefined)
            options.onHandOver?.({ from: agent.name, to: agents[next]!.name, sessionDbId: request.sessionDbId, reason: refusal });
        }
      }
      // Every provider refused: rest the queue if any refused the account, else the batch's attempt failed.
      const reason = paused ?? last!;
      throw new AgentError(reason.kind, `every provider refused; last: ${reason.message}`, reason.retryAfterMs, { cause: reason });
    },
  };
}
