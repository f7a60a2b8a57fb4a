/** The live sessions table: keyed rows updated in place, sortable, filterable, with live countdowns. */
import type { NextDeadline, SessionRow } from '../../src/dashboard/protocol.js';
import { ago, count, el, setText } from './dom.js';

type SortKey = 'sessionDbId' | 'project' | 'state' | 'queueLength' | 'historyLength' | 'historyTokens' | 'lastActivityAt' | 'next';

/** More rows than this are not drawn (a filter narrows them); the counts above the table stay exact. */
const MAX_DRAWN_ROWS = 1_000;

const NEXT_LABEL: Record<NextDeadline['kind'], string> = { expiring: 'expiring in', disposed: 'disposed in', retry: 'retry in' };

export function countdown(row: SessionRow, now: number): string {
  if (row.next === null) {
    if (row.waitsFor === 'agent') return 'agent working';
    if (row.waitsFor === 'slot') return 'waiting for a slot';
    if (row.waitsFor === 'batch') return 'gathering a batch';
    return '—';
  }
  const left = row.next.at - now;
  if (left <= 0) return `${NEXT_LABEL[row.next.kind].replace(' in', '')} now`;
  return `${NEXT_LABEL[row.next.kind]} ${formatLeft(left)}`;
}

function formatLeft(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

interface DrawnRow {
  readonly tr: HTMLTableRowElement;
  readonly cells: Record<'id' | 'project' | 'state' | 'queue' | 'history' | 'tokens' | 'activity' | 'next', HTMLTableCellElement>;
  readonly stateBadge: HTMLSpanElement;
  readonly subState: HTMLSpanElement;
  row: SessionRow;
}

const compare = (a: SessionRow, b: SessionRow, key: SortKey): number => {
  switch (key) {
    case 'project':
      return a.project.localeCompare(b.project) || a.sessionDbId - b.sessionDbId;
    case 'state':
      return a.state.localeCompare(b.state) || a.sessionDbId - b.sessionDbId;
    case 'next':
      // Sessions with no deadline (at work) after those with one.
      return (a.next?.at ?? Number.POSITIVE_INFINITY) - (b.next?.at ?? Number.POSITIVE_INFINITY) || a.sessionDbId - b.sessionDbId;
    default:
      return a[key] - b[key] || a.sessionDbId - b.sessionDbId;
  }
};

export class SessionsTable {
  readonly rows = new Map<number, SessionRow>();
  readonly #drawn = new Map<number, DrawnRow>();
  #sort: { key: SortKey; direction: 1 | -1 } = { key: 'next', direction: 1 };
  #filter = { state: '', project: '', text: '' };

  constructor(
    private readonly table: HTMLTableElement,
    private readonly note: HTMLElement,
    private readonly projectSelect: HTMLSelectElement,
    private readonly now: () => number,
  ) {
    for (const button of table.querySelectorAll<HTMLButtonElement>('thead button[data-sort]')) {
      button.addEventListener('click', () => {
        const key = button.dataset.sort as SortKey;
        this.#sort = { key, direction: this.#sort.key === key ? (-this.#sort.direction as 1 | -1) : key === 'lastActivityAt' ? -1 : 1 };
        this.render();
      });
    }
  }

  setFilter(filter: Partial<{ state: string; project: string; text: string }>): void {
    this.#filter = { ...this.#filter, ...filter };
    this.render();
  }

  replaceAll(rows: readonly SessionRow[]): void {
    this.rows.clear();
    for (const row of rows) this.rows.set(row.sessionDbId, row);
  }

  apply(upserts: readonly SessionRow[], removed: readonly number[]): void {
    for (const row of upserts) this.rows.set(row.sessionDbId, row);
    for (const id of removed) this.rows.delete(id);
  }

  #matches(row: SessionRow): boolean {
    const { state, project, text } = this.#filter;
    if (state !== '' && row.lifecycle !== state && row.state !== state) return false;
    if (project !== '' && row.project !== project) return false;
    if (text !== '' && !row.contentSessionId.toLowerCase().includes(text.toLowerCase()) && String(row.sessionDbId) !== text) return false;
    return true;
  }

  render(): void {
    this.#renderProjects();
    const { key, direction } = this.#sort;
    for (const th of this.table.querySelectorAll<HTMLElement>('thead th')) {
      const sortKey = th.querySelector<HTMLButtonElement>('button[data-sort]')?.dataset.sort;
      if (sortKey === key) th.setAttribute('aria-sort', direction === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    const matching = [...this.rows.values()].filter((row) => this.#matches(row)).sort((a, b) => direction * compare(a, b, key));
    const shown = matching.slice(0, MAX_DRAWN_ROWS);
    const tbody = this.table.tBodies[0]!;
    const keep = new Set(shown.map((row) => row.sessionDbId));
    for (const [id, drawn] of this.#drawn) {
      if (!keep.has(id)) {
        drawn.tr.remove();
        this.#drawn.delete(id);
      }
    }
    const now = this.now();
    shown.forEach((row, index) => {
      const drawn = this.#drawn.get(row.sessionDbId) ?? this.#create(row);
      drawn.row = row;
      this.#fill(drawn, now);
      if (tbody.children[index] !== drawn.tr) tbody.insertBefore(drawn.tr, tbody.children[index] ?? null);
    });
    const hidden = this.rows.size - matching.length;
    setText(
      this.note,
      this.rows.size === 0
        ? 'No live session. Sessions appear here as soon as a hook starts one.'
        : `${count(matching.length)} of ${count(this.rows.size)} live sessions` +
            (hidden > 0 ? ' (filtered)' : '') +
            (matching.length > shown.length ? `; the first ${count(shown.length)} are drawn, filter to see others` : ''),
    );
  }

  /** Once a second: countdowns and "ago" texts move on their own. */
  tick(): void {
    const now = this.now();
    for (const drawn of this.#drawn.values()) {
      setText(drawn.cells.next, countdown(drawn.row, now));
      setText(drawn.cells.activity, ago(now - drawn.row.lastActivityAt));
    }
  }

  #renderProjects(): void {
    const projects = [...new Set([...this.rows.values()].map((row) => row.project))].sort();
    const current = [...this.projectSelect.options].slice(1).map((option) => option.value);
    if (current.join('\n') === projects.join('\n')) return;
    const selected = this.projectSelect.value;
    this.projectSelect.replaceChildren(
      el('option', { value: '' }, 'all projects'),
      ...projects.map((p) => el('option', { value: p }, p || '(none)')),
    );
    this.projectSelect.value = projects.includes(selected) ? selected : '';
  }

  #create(row: SessionRow): DrawnRow {
    const cell = (name: string) => el('td', { class: name });
    const cells = {
      id: cell('id'),
      project: cell('project'),
      state: cell('state'),
      queue: cell('num queue'),
      history: cell('num history'),
      tokens: cell('num tokens'),
      activity: cell('activity'),
      next: cell('next'),
    };
    const link = el('a', { href: `#/session/${row.sessionDbId}` });
    cells.id.append(link);
    const stateBadge = el('span', { class: 'badge' });
    const subState = el('span', { class: 'substate' });
    cells.state.append(stateBadge, subState);
    const tr = el('tr', { 'data-session-id': row.sessionDbId }, ...Object.values(cells));
    const drawn: DrawnRow = { tr, cells, stateBadge, subState, row };
    this.#drawn.set(row.sessionDbId, drawn);
    return drawn;
  }

  #fill(drawn: DrawnRow, now: number): void {
    const { row, cells } = drawn;
    const link = cells.id.firstElementChild as HTMLAnchorElement;
    setText(link, `#${row.sessionDbId} ${row.contentSessionId}`);
    link.title = row.contentSessionId;
    setText(cells.project, row.project || '—');
    drawn.tr.dataset.lifecycle = row.lifecycle;
    drawn.tr.dataset.state = row.state;
    drawn.stateBadge.className = `badge ${row.lifecycle}`;
    setText(drawn.stateBadge, row.lifecycle);
    setText(drawn.subState, row.state.includes('.') ? row.state.slice(row.state.indexOf('.') + 1) : '');
    setText(cells.queue, count(row.queueLength));
    setText(cells.history, count(row.historyLength));
    setText(cells.tokens, count(row.historyTokens));
    setText(cells.activity, ago(now - row.lastActivityAt));
    setText(cells.next, countdown(row, now));
  }
}
