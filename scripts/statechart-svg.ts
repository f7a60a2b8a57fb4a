/**
 * The statechart as an SVG, laid out by ELK from the machine definition itself, for the dashboard's
 * session page (`npm run build` writes it next to the page's script). Every state is a `<g>` with
 * `data-state="<dotted path>"`, so the page can highlight the state a session is in; every arrow is a
 * `<g>` with `data-edge="<source>-><target>"`. Nothing here is drawn by hand, so it cannot drift.
 */
import elk, { type ElkExtendedEdge, type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { edgesOf } from './statechart.js';

const STATE_HEIGHT = 34;
const CHAR_WIDTH = 7.2; // 12 px system sans-serif, a little generous so that no name overflows its box
const LABEL_CHAR_WIDTH = 6.3; // 11 px
const LABEL_LINE_HEIGHT = 13;
const INITIAL_SIZE = 12;

// elkjs is CommonJS: Node hands its constructor over as the default export, its types as `default.default`.
const ELK = ((elk as { default?: unknown }).default ?? elk) as typeof elk.default;

const pathOf = (node: AnyStateNode) => node.path.join('.');
const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r = (value: number) => Math.round(value * 10) / 10;

export interface StatechartEdge {
  readonly source: string;
  readonly target: string;
  readonly events: readonly string[];
}

/** Arrows between states, one per (source, target) pair with every event that takes it; root transitions start from each live top-level state. */
export function statechartEdges(machine: AnyStateMachine): StatechartEdge[] {
  const liveTopLevel = (Object.values(machine.root.states) as AnyStateNode[]).filter((node) => node.type !== 'final');
  const byPair = new Map<string, { source: string; target: string; events: string[] }>();
  for (const edge of edgesOf(machine)) {
    const sources = edge.source === machine.root ? liveTopLevel : [edge.source];
    for (const source of sources) {
      for (const target of edge.targets) {
        const key = `${pathOf(source)}->${pathOf(target)}`;
        const entry = byPair.get(key) ?? { source: pathOf(source), target: pathOf(target), events: [] };
        if (!entry.events.includes(edge.event)) entry.events.push(edge.event);
        byPair.set(key, entry);
      }
    }
  }
  return [...byPair.values()];
}

/** Every state of the machine, as dotted paths, parents before children. */
export function statePaths(machine: AnyStateMachine): string[] {
  const paths: string[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      paths.push(pathOf(child));
      visit(child);
    }
  };
  visit(machine.root);
  return paths;
}

function describeState(node: AnyStateNode): string {
  const named = (actions: unknown[]) =>
    actions
      .map((a) => (typeof a === 'string' ? a : ((a as { type?: string }).type ?? '')))
      .filter((a) => a !== '' && !a.startsWith('xstate.'));
  const parts = [pathOf(node)];
  const entry = named(node.entry);
  const exit = named(node.exit);
  if (entry.length > 0) parts.push(`entry: ${entry.join(', ')}`);
  if (exit.length > 0) parts.push(`exit: ${exit.join(', ')}`);
  if (node.invoke.length > 0) parts.push(`invokes: ${node.invoke.map((i: { src: unknown }) => String(i.src)).join(', ')}`);
  return parts.join('\n');
}

function elkNode(node: AnyStateNode): ElkNode {
  const children = Object.values(node.states) as AnyStateNode[];
  const id = pathOf(node);
  if (children.length === 0) return { id, width: Math.max(96, node.key.length * CHAR_WIDTH + 28), height: STATE_HEIGHT };
  const initial = node.initial?.target?.[0];
  return {
    id,
    layoutOptions: { 'elk.padding': '[top=30,left=14,bottom=14,right=14]' },
    children: [...(initial ? [{ id: `initial:${id}`, width: INITIAL_SIZE, height: INITIAL_SIZE }] : []), ...children.map(elkNode)],
  };
}

function elkLabel(events: readonly string[]) {
  return {
    text: events.join('\n'),
    width: Math.max(...events.map((e) => e.length)) * LABEL_CHAR_WIDTH + 8,
    height: events.length * LABEL_LINE_HEIGHT + 4,
  };
}

/** Lays the machine out with ELK (layered, left to right, compound states as boxes) and renders it as SVG. */
export async function renderStatechartSvg(machine: AnyStateMachine): Promise<string> {
  const top = Object.values(machine.root.states) as AnyStateNode[];
  const initialEdges: ElkExtendedEdge[] = [];
  const addInitial = (node: AnyStateNode, id: string) => {
    const initial = node.initial?.target?.[0];
    if (initial) initialEdges.push({ id: `${id}->${pathOf(initial)}`, sources: [id], targets: [pathOf(initial)] });
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      if (Object.keys(child.states).length > 0) addInitial(child, `initial:${pathOf(child)}`);
    }
  };
  addInitial(machine.root, 'initial:root');
  const edges = statechartEdges(machine);
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      // The order of the definition (active, idle, expiring, disposed) is the order of the lifecycle: break cycles by it.
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.json.edgeCoords': 'ROOT',
      'elk.json.shapeCoords': 'ROOT',
      'elk.spacing.nodeNode': '28',
      'elk.layered.spacing.nodeNodeBetweenLayers': '44',
      'elk.spacing.edgeLabel': '4',
      'elk.edgeLabels.inline': 'false',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: [{ id: 'initial:root', width: INITIAL_SIZE, height: INITIAL_SIZE }, ...top.map(elkNode)],
    edges: [
      ...initialEdges,
      ...edges.map((edge) => ({
        id: `${edge.source}->${edge.target}`,
        sources: [edge.source],
        targets: [edge.target],
        labels: [elkLabel(edge.events)],
      })),
    ],
  };
  const laid = await new ELK().layout(graph);

  const nodes = new Map<string, AnyStateNode>();
  const index = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      nodes.set(pathOf(child), child);
      index(child);
    }
  };
  index(machine.root);

  const compounds: string[] = [];
  const leaves: string[] = [];
  const visit = (elk: ElkNode) => {
    for (const child of elk.children ?? []) {
      const x = r(child.x ?? 0);
      const y = r(child.y ?? 0);
      const w = r(child.width ?? 0);
      const h = r(child.height ?? 0);
      if (child.id.startsWith('initial:')) {
        leaves.push(`<circle class="initial" cx="${r(x + w / 2)}" cy="${r(y + h / 2)}" r="${INITIAL_SIZE / 2}"/>`);
        continue;
      }
      const state = nodes.get(child.id)!;
      const title = `<title>${escapeXml(describeState(state))}</title>`;
      if ((child.children ?? []).length > 0) {
        compounds.push(
          `<g class="state compound" data-state="${child.id}">${title}<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="12"/>` +
            `<text x="${r(x + 12)}" y="${r(y + 20)}">${escapeXml(state.key)}</text></g>`,
        );
        visit(child);
      } else {
        const final = state.type === 'final';
        leaves.push(
          `<g class="state${final ? ' final' : ''}" data-state="${child.id}">${title}<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8"/>` +
            (final ? `<rect class="inner" x="${x + 3}" y="${y + 3}" width="${w - 6}" height="${h - 6}" rx="6"/>` : '') +
            `<text x="${r(x + w / 2)}" y="${r(y + h / 2 + 4)}" text-anchor="middle">${escapeXml(state.key)}</text></g>`,
        );
      }
    }
  };
  visit(laid);

  const arrows: string[] = [];
  const labels: string[] = [];
  for (const edge of laid.edges ?? []) {
    const points = (edge.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    if (points.length === 0) continue;
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r(p.x)} ${r(p.y)}`).join(' ');
    const initial = edge.id.startsWith('initial:');
    arrows.push(
      `<g class="edge${initial ? ' initial' : ''}" data-edge="${escapeXml(edge.id)}"><path d="${d}" marker-end="url(#statechart-arrow)"/></g>`,
    );
    for (const label of edge.labels ?? []) {
      const lines = (label.text ?? '').split('\n');
      const x = r(label.x ?? 0);
      const y = r(label.y ?? 0);
      labels.push(
        `<g class="edge-label" data-edge="${escapeXml(edge.id)}"><rect x="${x}" y="${y}" width="${r(label.width ?? 0)}" height="${r(label.height ?? 0)}" rx="3"/>` +
          lines.map((line, i) => `<text x="${r(x + 4)}" y="${r(y + 12 + i * LABEL_LINE_HEIGHT)}">${escapeXml(line)}</text>`).join('') +
          '</g>',
      );
    }
  }

  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Statechart of the ${escapeXml(machine.id)} machine">`,
    '<defs><marker id="statechart-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#94a3b8"/></marker></defs>',
    ...compounds,
    ...arrows,
    ...leaves,
    ...labels,
    '</svg>',
    '',
  ].join('\n');
}
