/**
 * Questions about a session's state, answered from the machine's own definition: its tags, its state
 * names, the event its idle timer sends. For code outside `machines/` that holds a state as a value
 * (a snapshot read from the log, a Restate record, a dormant session): it asks here, never with a
 * state name of its own.
 * Pure: reads only the machine definition.
 */
import type { AnyStateNode, StateValue } from 'xstate';
import { sessionMachine } from './session.machine.js';
import type { Lifecycle, SessionTag } from './session.types.js';

/** A state value as one dotted name: `idle`, `active.processing`. */
export function stateNameOf(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value)[0] ?? ['unknown', undefined];
  return child === undefined ? parent : `${parent}.${stateNameOf(child as StateValue)}`;
}

/** The top-level phase of a state value, as the HTTP API reports it. */
export function lifecycleOf(value: StateValue): Lifecycle {
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as Lifecycle;
}

const tagsByState = new Map<string, ReadonlySet<SessionTag>>();
const leafStates: string[] = [];
(function visit(node: AnyStateNode, inherited: readonly SessionTag[]) {
  const tags = [...inherited, ...(node.tags as SessionTag[])];
  const children = Object.values(node.states) as AnyStateNode[];
  if (node !== sessionMachine.root && children.length === 0) {
    const name = node.path.join('.');
    tagsByState.set(name, new Set(tags));
    if (node.type !== 'final') leafStates.push(name);
  }
  for (const child of children) visit(child, tags);
})(sessionMachine.root, []);

/** Every state a live session can be in, by name and lifecycle, in the machine's order (the final `disposed` aside). */
export const LIVE_STATES: readonly { readonly name: string; readonly lifecycle: Lifecycle }[] = leafStates.map((name) => ({
  name,
  lifecycle: lifecycleOf(name.split('.')[0]!),
}));

/** Whether a session in `state` (an actor's snapshot, or a state value kept as JSON) carries `tag`. */
export function hasTag(state: { readonly value: StateValue }, tag: SessionTag): boolean {
  return tagsByState.get(stateNameOf(state.value))?.has(tag) ?? false;
}

const tagLists = new Map([...tagsByState].map(([name, tags]) => [name, Object.freeze([...tags])]));
const NO_TAGS: readonly SessionTag[] = Object.freeze([]);

/** The tags of a state value (shared, frozen lists: nothing is allocated per call). */
export function tagsOf(value: StateValue): readonly SessionTag[] {
  return tagLists.get(stateNameOf(value)) ?? NO_TAGS;
}

/** The state a dormant session is held in and wakes into (the one tagged `hibernatable`: `idle`), as a value. */
export const DORMANT_STATE: StateValue = leafStates.find((name) => tagsByState.get(name)!.has('hibernatable'))!;

/** The event the idle deadline's timer sends (the timer of the `hibernatable` state; delivered to a dormant session woken at its deadline). */
export const IDLE_TIMER_EVENT: string = (() => {
  const node = sessionMachine.root.states[DORMANT_STATE as string] as AnyStateNode;
  return node.after[0]!.eventType;
})();
