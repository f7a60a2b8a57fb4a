import type { Agent, AgentReply, AgentRequest } from '../../src/index.js';
import { createLocalAgent } from '../../src/index.js';
import type { Wakeup } from './wait.js';

export interface AgentCall {
  readonly request: AgentRequest;
  readonly signal: AbortSignal;
  /** Settled by the test, by an abort, or not yet. */
  outcome: 'pending' | 'resolved' | 'rejected' | 'aborted';
  resolve(reply: string | AgentReply): void;
  reject(error: unknown): void;
}

/**
 * An agent whose every call waits for the test to settle it. It records concurrency and whether each
 * call's signal was aborted, and it settles an aborted call the way a well-behaved agent would.
 */
export function controllableAgent() {
  const calls: AgentCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const agent: Agent = {
    name: 'controllable',
    run(request, signal) {
      return new Promise<AgentReply>((resolvePromise, rejectPromise) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const call: AgentCall = {
          request,
          signal,
          outcome: 'pending',
          resolve(reply) {
            if (call.outcome !== 'pending') return;
            call.outcome = 'resolved';
            inFlight--;
            resolvePromise(typeof reply === 'string' ? { text: reply } : reply);
          },
          reject(error) {
            if (call.outcome !== 'pending') return;
            call.outcome = 'rejected';
            inFlight--;
            rejectPromise(error);
          },
        };
        signal.addEventListener('abort', () => {
          if (call.outcome !== 'pending') return;
          call.outcome = 'aborted';
          inFlight--;
          rejectPromise(signal.reason);
        });
        calls.push(call);
      });
    },
  };
  return {
    agent,
    calls,
    pending: () => calls.filter((call) => call.outcome === 'pending'),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

/** Replies after `delayMs` of (possibly fake) time; honours its signal. */
export function delayedAgent(delayMs: number, reply: (request: AgentRequest) => string = (r) => `ok: ${r.item.id}`): Agent {
  return {
    name: 'delayed',
    run: (request, signal) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ text: reply(request) }), delayMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      }),
  };
}

/** Lets queued microtasks and promise callbacks run (slot grants, agent settlements). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export interface HeldCall {
  readonly request: AgentRequest;
  readonly signal: AbortSignal;
  outcome: 'pending' | 'answered' | 'aborted';
  answer(text?: string): void;
  fail(error: unknown): void;
}

/**
 * The local (offline, deterministic) agent, except for prompts that contain `HOLD`: those wait until
 * the test answers them, and record whether their AbortSignal fired. Records every call in order, and
 * tells `changes` listeners of each call that starts or ends (what a test waits on).
 */
export function holdingAgent() {
  const local = createLocalAgent();
  const calls: { request: AgentRequest; held: HeldCall | undefined }[] = [];
  const held: HeldCall[] = [];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  let inFlight = 0;
  let maxInFlight = 0;
  const agent: Agent = {
    name: 'holding',
    async run(request, signal) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (!request.item.prompt.includes('HOLD')) {
          calls.push({ request, held: undefined });
          return await local.run(request, signal);
        }
        return await new Promise<AgentReply>((resolve, reject) => {
          const call: HeldCall = {
            fail(error) {
              if (call.outcome !== 'pending') return;
              call.outcome = 'answered';
              reject(error);
              changed();
            },
            request,
            signal,
            outcome: 'pending',
            answer(text = `answer to ${request.item.id}`) {
              if (call.outcome !== 'pending') return;
              call.outcome = 'answered';
              resolve({ text });
              changed();
            },
          };
          signal.addEventListener('abort', () => {
            if (call.outcome !== 'pending') return;
            call.outcome = 'aborted';
            reject(signal.reason);
            changed();
          });
          held.push(call);
          calls.push({ request, held: call });
          changed();
        });
      } finally {
        inFlight--;
      }
    },
  };
  const pending = (sessionDbId?: number) =>
    held.filter((call) => call.outcome === 'pending' && (sessionDbId === undefined || call.request.sessionDbId === sessionDbId));
  return {
    agent,
    calls,
    held,
    pending,
    /** Each call that starts or ends, as a wakeup for `waitFor`. */
    changes: ((recheck) => {
      listeners.add(recheck);
      return () => listeners.delete(recheck);
    }) satisfies Wakeup,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}
