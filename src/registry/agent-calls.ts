/**
 * Owns the agent calls in flight: at most one per session, started by the machine's `callAgent` action
 * when the session enters `processing` and aborted by `abortAgentCall` when it leaves (answered, failed,
 * timed out, deleted, evicted), or when its actor is stopped (shutdown, a rolled-back commit, a crash).
 * A call's outcome goes back to its session as the agent's done or error event, unless the call was
 * aborted meanwhile: a late answer never reaches a session that has moved on.
 * May not: decide anything about the session; it runs the call the machine asked for.
 */
import { agentEvent } from '../../machines/session.commands.js';
import type { AgentInput, SessionEvent } from '../../machines/session.machine.js';
import { type Agent, callAgent } from '../agents/index.js';
import type { Clock } from '../clock/index.js';
import type { TokenEstimator } from '../history/index.js';

export interface AgentCallsOptions {
  readonly agent: Agent;
  readonly clock: Clock;
  readonly estimateTokens: TokenEstimator;
  /** Hands the call's outcome to its session. */
  readonly deliver: (sessionDbId: number, event: SessionEvent) => void;
  /**
   * Runs `start` once the session's queued work is committed: no call starts on work that is not
   * durable. Default: at once.
   */
  readonly whenDurable?: (sessionDbId: number, start: () => void) => void;
}

export class AgentCalls {
  readonly #options: AgentCallsOptions;
  /** The controller of each session's call in flight; a settled or aborted call is no longer here. */
  readonly #inFlight = new Map<number, AbortController>();

  constructor(options: AgentCallsOptions) {
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  start(input: AgentInput): void {
    const { sessionDbId } = input;
    this.abort(sessionDbId);
    const controller = new AbortController();
    this.#inFlight.set(sessionDbId, controller);
    const { whenDurable } = this.#options;
    if (whenDurable === undefined) this.#run(input, controller);
    else whenDurable(sessionDbId, () => this.#run(input, controller));
  }

  abort(sessionDbId: number): void {
    const controller = this.#inFlight.get(sessionDbId);
    if (controller === undefined) return;
    this.#inFlight.delete(sessionDbId);
    controller.abort();
  }

  /** Aborts every call in flight; returns how many there were. */
  abortAll(): number {
    const count = this.#inFlight.size;
    for (const sessionDbId of [...this.#inFlight.keys()]) this.abort(sessionDbId);
    return count;
  }

  #run(input: AgentInput, controller: AbortController): void {
    const { agent, clock, estimateTokens, deliver } = this.#options;
    const { sessionDbId } = input;
    if (controller.signal.aborted) return;
    callAgent(agent, input, controller.signal, { now: () => clock.now(), estimateTokens }, (outcome) => {
      // An aborted call's late answer never reaches a session that has moved on.
      if (this.#inFlight.get(sessionDbId) !== controller) return;
      this.#inFlight.delete(sessionDbId);
      deliver(sessionDbId, agentEvent(outcome));
    });
  }
}
