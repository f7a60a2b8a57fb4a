import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, InspectionEvent } from 'xstate';

/** Every state node under the root, by id (`session.active.waiting`). */
export function allStateIds(machine: AnyStateMachine): string[] {
  const ids: string[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      ids.push(child.id);
      visit(child);
    }
  };
  visit(machine.root);
  return ids;
}

/**
 * A transition definition's name, `source —event#branch→ target`: the same for every `.provide()`d
 * copy of a machine, so a registry's actors can be measured against the machine module.
 */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source as AnyStateNode;
  const branches: AnyTransitionDefinition[] =
    transition.eventType === '' ? (source.always ?? []) : (source.transitions.get(transition.eventType) ?? []);
  const targets = transition.target?.map((target: AnyStateNode) => target.id).join(',') ?? '(stay)';
  const event = transition.eventType === '' ? 'always' : transition.eventType;
  return `${source.id} —${event}#${branches.indexOf(transition)}→ ${targets}${transition.reenter ? ' (reenter)' : ''}`;
}

/** Every transition of the machine: each guarded branch on its own; delayed, invoke and eventless ones included. */
export function allTransitionKeys(machine: AnyStateMachine): string[] {
  const keys: string[] = [];
  const visit = (node: AnyStateNode) => {
    for (const branches of node.transitions.values()) for (const transition of branches) keys.push(transitionKey(transition));
    for (const transition of node.always ?? []) keys.push(transitionKey(transition));
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(machine.root);
  return keys;
}

/** Records which states were entered and which transition definitions fired, from inspection events. */
export class CoverageRecorder {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();
  readonly #allStates: string[];
  readonly #allTransitions: string[];

  constructor(readonly machine: AnyStateMachine) {
    this.#allStates = allStateIds(machine);
    this.#allTransitions = allTransitionKeys(machine);
  }

  /** Pass as `inspect` to actors of the machine, or of any `.provide()`d copy of it. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { machine?: AnyStateMachine; _nodes?: AnyStateNode[] };
    if (snapshot.machine?.id !== this.machine.id) return;
    if (event.type === '@xstate.microstep') for (const transition of event._transitions) this.transitions.add(transitionKey(transition));
    for (const node of snapshot._nodes ?? []) if (node !== snapshot.machine.root) this.states.add(node.id);
  };

  missing(): { states: string[]; transitions: string[] } {
    return {
      states: this.#allStates.filter((id) => !this.states.has(id)),
      transitions: this.#allTransitions.filter((key) => !this.transitions.has(key)),
    };
  }

  summary(label: string): string {
    const states = this.#allStates.filter((id) => this.states.has(id)).length;
    const transitions = this.#allTransitions.filter((key) => this.transitions.has(key)).length;
    return `${label}: states ${states}/${this.#allStates.length}, transitions ${transitions}/${this.#allTransitions.length}`;
  }
}
