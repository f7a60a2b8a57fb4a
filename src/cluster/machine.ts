import { type AnyEventObject, initialTransition, type StateValue, transition } from 'xstate';
import { deadlineDelays } from '../../machines/session.commands.js';
import {
  type AgentInput,
  type SessionContext,
  type SessionEvent,
  type SessionInput,
  sessionMachine,
} from '../../machines/session.machine.js';

/**
 * The session machine as the cluster runs it: xstate's pure `initialTransition()` / `transition()`,
 * no actor, no clock, no timer. Every event the cluster delivers carries `at`, its logical time (an
 * outside event's arrival, the due time of the timer that fired, the agent's reply time), so the only
 * implementations it supplies are the delays: what remains until a deadline in context, counted from
 * the event's own time, never from a clock. Named actions stay the machine's inert defaults; their
 * names come back in the action list and are carried out as effects by the Restate layer.
 */
/** The cluster's clock: the time of the event being processed (`xstate.init` carries its time in its input). */
const eventTime = (_context: unknown, event: AnyEventObject): number =>
  (event as { at?: number }).at ?? (event as { input?: { at?: number } }).input?.at ?? 0;

export const clusterSessionMachine = sessionMachine.provide({ delays: deadlineDelays(eventTime) });

/** What the cluster keeps of a live machine: its state value and context (plain JSON). */
export interface MachineState {
  readonly value: StateValue;
  readonly context: SessionContext;
}

/** What a step asks of the world, in the order the machine's actions ran. */
export type Effect =
  | { readonly type: 'armTimer'; readonly id: string; readonly eventType: string; readonly dueAt: number }
  | { readonly type: 'disarmTimer'; readonly id: string }
  | { readonly type: 'requestSlot' | 'cancelSlotRequest' | 'releaseSlot' }
  | { readonly type: 'startAgent'; readonly input: AgentInput }
  | { readonly type: 'abortAgent' };

export interface Step {
  readonly state: MachineState;
  readonly done: boolean;
  readonly effects: readonly Effect[];
}

/** An event the cluster builds itself (timer, agent outcome), typed as the machine sees it. */
export type DeliveredEvent = (SessionEvent | { readonly type: string; readonly [field: string]: unknown }) & { readonly at: number };

// `notifyExpiring` and `removeFromRegistry` need nothing here: the timeline records both, disposal is the turn's `finish`.
const NAMED_EFFECTS = new Set(['requestSlot', 'cancelSlotRequest', 'releaseSlot']);

function effectsOf(actions: readonly { type: string; params?: unknown }[], at: number): Effect[] {
  const effects: Effect[] = [];
  for (const action of actions) {
    const params = action.params as Record<string, unknown> | undefined;
    if (action.type === 'xstate.raise' && typeof params?.delay === 'number') {
      const event = params.event as { type: string };
      effects.push({ type: 'armTimer', id: String(params.id ?? event.type), eventType: event.type, dueAt: at + params.delay });
    } else if (action.type === 'xstate.cancel' && params !== undefined) {
      effects.push({ type: 'disarmTimer', id: String(params.sendId) });
    } else if (action.type === 'callAgent') {
      // The batch's agent call: started on entering `processing`, its outcome sent back as the agent's done or error event.
      effects.push({ type: 'startAgent', input: action.params as AgentInput });
    } else if (action.type === 'abortAgentCall') {
      effects.push({ type: 'abortAgent' });
    } else if (NAMED_EFFECTS.has(action.type)) {
      effects.push({ type: action.type as 'requestSlot' });
    }
  }
  return effects;
}

/** A new session: the machine's initial state and what its entry asked for (the idle timer). */
export function startMachine(input: SessionInput): Step {
  const [snapshot, actions] = initialTransition(clusterSessionMachine, input);
  return { state: { value: snapshot.value, context: snapshot.context }, done: false, effects: effectsOf(actions, input.at) };
}

/** One event through the machine, from a state kept as JSON. */
export function stepMachine(state: MachineState, event: DeliveredEvent): Step {
  const snapshot = clusterSessionMachine.resolveState({ value: state.value, context: state.context });
  const [next, actions] = transition(clusterSessionMachine, snapshot, event as SessionEvent);
  return {
    state: { value: next.value, context: next.context },
    done: next.status === 'done',
    effects: effectsOf(actions, event.at),
  };
}
