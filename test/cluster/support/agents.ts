import type { Agent, AgentReply, AgentRequest } from '../../../src/index.js';
import { createLocalAgent } from '../../../src/index.js';

export interface HeldCall {
  readonly request: AgentRequest;
  readonly signal: AbortSignal;
  outcome: 'pending' | 'answered' | 'aborted';
  answer(text?: string): void;
  fail(error: unknown): void;
}

/**
 * The local (offline, deterministic) agent, except for prompts that contain `HOLD`: those wait until
 * the test answers them, and record whether their AbortSignal fired. Records every call in order.
 */
export function holdingAgent() {
  const local = createLocalAgent();
  const calls: { request: AgentRequest; held: HeldCall | undefined }[] = [];
  const held: HeldCall[] = [];
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
            },
            request,
            signal,
            outcome: 'pending',
            answer(text = `answer to ${request.item.id}`) {
              if (call.outcome !== 'pending') return;
              call.outcome = 'answered';
              resolve({ text });
            },
          };
          signal.addEventListener('abort', () => {
            if (call.outcome !== 'pending') return;
            call.outcome = 'aborted';
            reject(signal.reason);
          });
          held.push(call);
          calls.push({ request, held: call });
        });
      } finally {
        inFlight--;
      }
    },
  };
  return {
    agent,
    calls,
    held,
    pending: (sessionDbId?: number) =>
      held.filter((call) => call.outcome === 'pending' && (sessionDbId === undefined || call.request.sessionDbId === sessionDbId)),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}
