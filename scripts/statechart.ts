/**
 * Renders a statechart from the machine definition itself (a mermaid diagram and a transition table),
 * so that docs/architecture.md cannot drift from machines/session.machine.ts.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { eventLabel } from '../src/session/index.js';

export interface Edge {
  readonly source: AnyStateNode;
  readonly event: string;
  readonly guard: string | undefined;
  readonly targets: readonly AnyStateNode[];
  readonly actions: readonly string[];
  readonly reenter: boolean;
}

function guardLabel(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const combinator = guard as { name?: string; guards?: unknown[]; guard?: unknown };
    if (Array.isArray(combinator.guards)) {
      const joiner = combinator.name === 'or' ? ' ∨ ' : ' ∧ ';
      return combinator.guards.map(guardLabel).join(joiner);
    }
    if (combinator.guard !== undefined) return `¬${guardLabel(combinator.guard)}`;
    return combinator.name || 'guard';
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: string }).type);
  return 'guard';
}

function actionLabel(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'object' && action !== null && 'type' in action) return String((action as { type: string }).type);
  if (typeof action === 'function') return (action as { type?: string }).type ?? action.name ?? 'action';
  return 'action';
}

/** Every transition branch of the machine, in definition order. */
export function edgesOf(machine: AnyStateMachine): Edge[] {
  const edges: Edge[] = [];
  const visit = (node: AnyStateNode) => {
    // Branches are tried in order: an unguarded branch after guarded ones is their `else`.
    const add = (transition: AnyTransitionDefinition, event: string, branch: number) =>
      edges.push({
        source: node,
        event,
        guard: guardLabel(transition.guard) ?? (branch > 0 ? 'else' : undefined),
        targets: transition.target ?? [],
        actions: transition.actions.map(actionLabel),
        reenter: transition.reenter,
      });
    for (const [eventType, branches] of node.transitions) for (const [i, t] of branches.entries()) add(t, eventLabel(eventType), i);
    for (const [i, t] of (node.always ?? []).entries()) add(t, 'always', i);
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(machine.root);
  return edges;
}

/** Mermaid ids must be plain words. */
const mermaidId = (node: AnyStateNode) => node.path.join('_') || 'root';

/** A `stateDiagram-v2`. Transitions from the root (DELETE, EVICT, COMPLETE) are drawn from each live state. */
export function renderMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const render = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states) as AnyStateNode[];
    for (const child of children) {
      const grandchildren = Object.values(child.states) as AnyStateNode[];
      if (grandchildren.length > 0) {
        lines.push(`${indent}state ${mermaidId(child)} {`);
        render(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${child.key}" as ${mermaidId(child)}`);
      }
    }
    const initial = node.initial?.target?.[0];
    if (initial) lines.push(`${indent}[*] --> ${mermaidId(initial)}`);
    for (const child of children) if (child.type === 'final') lines.push(`${indent}${mermaidId(child)} --> [*]`);
  };
  render(machine.root, '  ');

  const labels = new Map<string, string[]>();
  const liveTopLevel = (Object.values(machine.root.states) as AnyStateNode[]).filter((n) => n.type !== 'final');
  for (const edge of edgesOf(machine)) {
    if (edge.targets.length === 0) continue; // context-only updates: listed in the table
    const sources = edge.source === machine.root ? liveTopLevel : [edge.source];
    const label = edge.guard ? `${edge.event} [${edge.guard}]` : edge.event;
    for (const source of sources) {
      for (const target of edge.targets) {
        const key = `${mermaidId(source)} --> ${mermaidId(target)}`;
        const list = labels.get(key) ?? [];
        if (!list.includes(label)) list.push(label);
        labels.set(key, list);
      }
    }
  }
  for (const [key, list] of labels) lines.push(`  ${key}: ${list.join('<br/>')}`);
  return lines.join('\n');
}

/** One row per transition branch, in definition order: what SPEC §3's table says, read off the machine. */
export function renderTransitionTable(machine: AnyStateMachine): string {
  const rows = ['| from | event | guard | to | actions |', '|---|---|---|---|---|'];
  const name = (node: AnyStateNode) => (node === machine.root ? '(any live state)' : node.path.join('.'));
  for (const edge of edgesOf(machine)) {
    const to = edge.targets.length === 0 ? '(stays)' : edge.targets.map(name).join(', ') + (edge.reenter ? ' (re-entered)' : '');
    rows.push(
      `| ${name(edge.source)} | \`${edge.event}\` | ${edge.guard ? `\`${edge.guard}\`` : ''} | ${to} | ${edge.actions.map((a) => `\`${a}\``).join(', ')} |`,
    );
  }
  return rows.join('\n');
}

/** Tags (what a state means to the world outside the machine), entry and exit actions, invoked actors and delays per state. */
export function renderStateTable(machine: AnyStateMachine): string {
  const rows = ['| state | tags | entry | exit | invokes | delays |', '|---|---|---|---|---|---|'];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      const named = (actions: unknown[]) =>
        actions
          .map(actionLabel)
          .filter((a) => !a.startsWith('xstate.'))
          .map((a) => `\`${a}\``)
          .join(', ');
      const delays = [...new Set((child.after ?? []).map((d: { delay: unknown }) => String(d.delay)))];
      rows.push(
        `| ${child.path.join('.')}${child.type === 'final' ? ' (final)' : ''} | ${(child.tags as string[]).map((t) => `\`${t}\``).join(', ')} | ${named(child.entry)} | ${named(child.exit)} | ${child.invoke.map((i: { src: unknown }) => `\`${String(i.src)}\``).join(', ')} | ${delays.map((d) => `\`${d}\``).join(', ')} |`,
      );
      visit(child);
    }
  };
  visit(machine.root);
  return rows.join('\n');
}

export const GENERATED_BEGIN = '<!-- generated by `npm run docs:statechart` from machines/session.machine.ts: do not edit -->';
export const GENERATED_END = '<!-- end of generated statechart -->';

export function renderStatechartSection(machine: AnyStateMachine): string {
  return [
    GENERATED_BEGIN,
    '',
    '```mermaid',
    renderMermaid(machine),
    '```',
    '',
    '### States',
    '',
    renderStateTable(machine),
    '',
    '### Transitions',
    '',
    'Every branch, in the order the machine tries them; the first whose guard holds is taken.',
    '',
    renderTransitionTable(machine),
    '',
    GENERATED_END,
  ].join('\n');
}

/** Replaces the generated section of a document (or appends it). */
export function withStatechartSection(document: string, machine: AnyStateMachine): string {
  const section = renderStatechartSection(machine);
  const begin = document.indexOf(GENERATED_BEGIN);
  const end = document.indexOf(GENERATED_END);
  if (begin === -1 || end === -1) return `${document.trimEnd()}\n\n${section}\n`;
  return document.slice(0, begin) + section + document.slice(end + GENERATED_END.length);
}
