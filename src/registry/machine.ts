/**
 * Owns what the session machine asks of the world: the agent call (started and aborted through
 * `AgentCalls`), slot requests, the clock-aware delays, and the notices that a session is expiring or
 * gone. Everything here is a `.provide()` implementation; the machine itself stays pure.
 * May not: keep state of its own (it forwards to the hooks it is given).
 */
import { createActor, type InspectionEvent } from 'xstate';
import { deadlineDelays } from '../../machines/session.commands.js';
import { type SessionMachine, sessionMachine } from '../../machines/session.machine.js';
import type { Clock } from '../clock/index.js';
import type { AgentCalls } from './agent-calls.js';
import type { ActorFactory, LiveSession } from './live-session.js';
import type { SlotPool } from './slots.js';
import type { SessionExpiring } from './types.js';

export interface MachineWorld {
  readonly calls: Pick<AgentCalls, 'start' | 'abort'>;
  readonly clock: Clock;
  readonly slots: Pick<SlotPool, 'request' | 'cancel' | 'release'>;
  expiring(notice: SessionExpiring): void;
  /** The session reached `disposed`: it must leave the live set at once. */
  removed(sessionDbId: number, contentSessionId: string): void;
}

/** The session machine with the world's effects supplied. */
export function provideSessionMachine(world: MachineWorld): SessionMachine {
  const { calls, clock, slots } = world;
  return sessionMachine.provide({
    actions: {
      requestSlot: ({ context }) => slots.request(context.sessionDbId),
      cancelSlotRequest: ({ context }) => slots.cancel(context.sessionDbId),
      releaseSlot: ({ context }) => slots.release(context.sessionDbId),
      notifyExpiring: ({ context }) =>
        world.expiring({
          sessionDbId: context.sessionDbId,
          contentSessionId: context.contentSessionId,
          graceDeadline: context.graceDeadline ?? clock.now(),
        }),
      removeFromRegistry: ({ context }) => world.removed(context.sessionDbId, context.contentSessionId),
      callAgent: (_, input) => calls.start(input),
      abortAgentCall: ({ context }) => calls.abort(context.sessionDbId),
    },
    // Counted down from this process's clock to the deadline in context: a re-armed or recovered timer waits only for what remains.
    delays: deadlineDelays(() => clock.now()),
  });
}

/** Makes each session's actor from the provided machine: fresh from input, or resuming a state it had. */
export function sessionActors(
  machine: SessionMachine,
  clock: Clock,
  observe: (session: LiveSession, inspection: InspectionEvent) => void,
): ActorFactory {
  return {
    create: (session, from) =>
      createActor(machine, {
        ...('input' in from
          ? { input: from.input }
          : { input: undefined as never, snapshot: machine.resolveState({ value: from.value, context: from.context }) }),
        clock,
        inspect: (event) => observe(session, event),
      }),
  };
}
