import * as restate from '@restatedev/restate-sdk';
import type { AgentOutcome } from '../../machines/session.commands.js';
import type { AgentInput } from '../../machines/session.machine.js';
import { type Agent, callAgent } from '../agents/index.js';
import type { TokenEstimator } from '../history/index.js';
import { SERVICE_NAMES, SLOT_POOL_KEY, sessionApi, slotsApi } from './handles.js';

export type { AgentOutcome };

/** What a session asks the agent service to do: one attempt at its head item, holding `lease`. */
export interface AgentCall {
  readonly session: string;
  readonly callId: string;
  readonly lease: string;
  readonly input: AgentInput;
}

function isCancellation(error: unknown): boolean {
  return error instanceof restate.CancelledError || (error instanceof restate.TerminalError && error.code === 409);
}

/**
 * The agent call of one attempt, as its own invocation: a long model call must not hold the session
 * object's lock (DELETE and new work go on meanwhile). The call runs inside `ctx.run`, so its outcome
 * is journaled: a crash after the model answered replays the answer instead of asking again. The
 * session aborts it by cancelling this invocation (DELETE, EVICT, agent timeout): the cancellation
 * reaches the awaiting `ctx.run`, the AbortSignal the agent was given fires, and no outcome is sent.
 * The lease goes back to the slot pool exactly once, after the model call ended: with the outcome (the
 * session's `agentResult` gives it back, together with its next request when it has more work: one
 * invocation of the pool instead of two), or by this invocation itself when there is no outcome.
 */
export function createAgentService(options: { readonly agent: Agent; readonly estimateTokens: TokenEstimator }) {
  const { agent, estimateTokens } = options;
  return restate.service({
    name: SERVICE_NAMES.agent,
    handlers: {
      run: async (ctx: restate.Context, call: AgentCall): Promise<void> => {
        const controller = new AbortController();
        // The attempt ended (cancelled, connection lost, process stopping): the model call goes with it.
        ctx.request().attemptCompletedSignal.addEventListener('abort', () => controller.abort(), { once: true });
        let outcome: AgentOutcome | undefined;
        try {
          // A failure is an outcome for the machine to route (backoff, pause, drop), not for Restate to retry.
          outcome = await ctx.run(
            'agent',
            () =>
              new Promise<AgentOutcome>((settled) =>
                callAgent(agent, call.input, controller.signal, { now: Date.now, estimateTokens }, settled),
              ),
          );
        } catch (error) {
          if (!isCancellation(error)) throw error;
          controller.abort(new Error('the session left processing (deleted, evicted or timed out)'));
        }
        if (outcome !== undefined) {
          ctx.objectSendClient(sessionApi, call.session).agentResult({ callId: call.callId, outcome, lease: call.lease });
        } else {
          ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: call.lease });
        }
      },
    },
  });
}

export type AgentService = ReturnType<typeof createAgentService>;
