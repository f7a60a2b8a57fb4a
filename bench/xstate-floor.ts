/**
 * What the statechart itself costs per item on this machine, in its own process (run by bench/costs.ts):
 * the three events an item goes through one at a time (WORK_QUEUED idle → waiting, SLOT_GRANTED →
 * processing, the agent's done event → idle), sent straight to an actor, no registry, no log:
 *   - a minimal statechart: three flat states, no actions, no guards (xstate's own floor for three transitions);
 *   - the session machine, its effects inert (slots, the agent call) and timers not armed;
 *   - the same with an inspector attached, which is how the registry reads every processed event for the log.
 * Prints µs per item, best of several rounds.
 */
import { createActor, setup } from 'xstate';
import { DEFAULT_SESSION_SETTINGS, sessionMachine } from '../machines/session.machine.js';

const ITEMS = 20_000;
const ROUNDS = 7;
const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

/** The shape of the session machine's item path, and nothing else. */
const minimal = setup({}).createMachine({
  initial: 'idle',
  states: {
    idle: { on: { WORK_QUEUED: 'waiting' } },
    waiting: { on: { SLOT_GRANTED: 'processing' } },
    processing: { on: { 'xstate.done.actor.agent': 'idle' } },
  },
});

type Machine = typeof minimal | typeof sessionMachine;

function perItem(machine: Machine, inspect: boolean): number {
  const settings = { ...DEFAULT_SESSION_SETTINGS, maxBatchItems: 1 };
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const actor = createActor(machine as typeof sessionMachine, {
      input: { sessionDbId: 1, contentSessionId: 'floor', project: 'bench', settings, at: 0 },
      clock: noTimers,
      ...(inspect ? { inspect: () => {} } : {}),
    }).start();
    const started = performance.now();
    for (let i = 1; i <= ITEMS; i++) {
      actor.send({ type: 'WORK_QUEUED', item: { id: `w${i}`, kind: 'observation', prompt: 'o', promptTokens: 1, queuedAt: i }, at: i });
      actor.send({ type: 'SLOT_GRANTED', at: i });
      actor.send({ type: 'xstate.done.actor.agent', output: { reply: 'r', replyTokens: 1, at: i } });
    }
    best = Math.min(best, ((performance.now() - started) * 1_000) / ITEMS);
    actor.stop();
  }
  return best;
}

const result = {
  minimalMicrosPerItem: perItem(minimal, false),
  machineMicrosPerItem: perItem(sessionMachine, false),
  machineInspectedMicrosPerItem: perItem(sessionMachine, true),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
