/** One session: its statechart with the current state lit, its deadlines, its bounded history and its timeline. */
import type { MemoriesAnswer, SessionDetail } from '../../src/dashboard/protocol.js';
import { getJson } from './connection.js';
import { clock, costTable, count, duration, el, setText } from './dom.js';
import { memoryList } from './memories.js';

const REFRESH_MS = 1_000;

/** A line cut to `max` characters says so with an ellipsis. */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export class SessionPage {
  #current: number | undefined;
  #detail: SessionDetail | undefined;
  #statechart: Promise<SVGSVGElement | undefined> | undefined;
  #refreshTimer: number | undefined;
  #lastFetch = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly statechartUrl: string,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get current(): number | undefined {
    return this.#current;
  }

  async show(sessionDbId: number): Promise<void> {
    this.#current = sessionDbId;
    this.#detail = undefined;
    // Nothing of the previous session stays on screen while this one loads.
    for (const key of ['sessionId', 'state', 'lifecycle']) delete this.root.dataset[key];
    for (const name of ['state', 'error', 'deadlines', 'history', 'memories', 'timeline'])
      this.root.querySelector(`[data-part="${name}"]`)!.replaceChildren();
    this.root.querySelector('[data-part="title"]')!.textContent = `Session #${sessionDbId}`;
    this.#highlight('');
    await Promise.all([this.#mountStatechart(), this.#load()]);
  }

  hide(): void {
    this.#current = undefined;
    this.#detail = undefined;
    window.clearTimeout(this.#refreshTimer);
  }

  /** The session changed (an update on the stream): fetch it again, at most once a second. */
  changed(): void {
    if (this.#current === undefined || this.#refreshTimer !== undefined) return;
    const wait = Math.max(0, this.#lastFetch + REFRESH_MS - Date.now());
    this.#refreshTimer = window.setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#load();
    }, wait);
  }

  /** Once a second: the countdowns. */
  tick(): void {
    const detail = this.#detail;
    if (detail === undefined) return;
    for (const cell of this.root.querySelectorAll<HTMLElement>('[data-countdown]')) {
      const left = Number(cell.dataset.countdown) - this.now();
      setText(cell, left > 0 ? `in ${duration(left)}` : 'due');
    }
  }

  async #load(): Promise<void> {
    const id = this.#current;
    if (id === undefined) return;
    this.#lastFetch = Date.now();
    try {
      const [detail, memories] = await Promise.all([
        getJson<SessionDetail>(`/dashboard/api/sessions/${id}`),
        getJson<MemoriesAnswer>(`/dashboard/api/sessions/${id}/memories`),
      ]);
      if (this.#current !== id) return;
      this.#detail = detail;
      this.#render(detail);
      this.root.querySelector<HTMLElement>('[data-part="memories"]')!.replaceChildren(...this.#memories(memories));
    } catch (error) {
      if (this.#current !== id) return;
      this.root.querySelector('[data-part="error"]')!.textContent = (error as Error).message;
      this.onError(error);
    }
  }

  async #mountStatechart(): Promise<void> {
    this.#statechart ??= fetch(this.statechartUrl)
      .then((response) => response.text())
      .then((text) => {
        const parsed = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
        return parsed instanceof SVGSVGElement ? (document.importNode(parsed, true) as SVGSVGElement) : undefined;
      })
      .catch(() => undefined);
    const chart = await this.#statechart;
    const holder = this.root.querySelector<HTMLElement>('[data-part="statechart"]')!;
    if (chart !== undefined && holder.firstElementChild !== chart) holder.replaceChildren(chart);
  }

  #highlight(state: string): void {
    const holder = this.root.querySelector<HTMLElement>('[data-part="statechart"]')!;
    for (const node of holder.querySelectorAll('.current, .current-parent')) node.classList.remove('current', 'current-parent');
    const parts = state === '' ? [] : state.split('.');
    parts.forEach((_, i) => {
      const path = parts.slice(0, i + 1).join('.');
      holder.querySelector(`[data-state="${CSS.escape(path)}"]`)?.classList.add(i === parts.length - 1 ? 'current' : 'current-parent');
    });
  }

  #render(detail: SessionDetail): void {
    const part = (name: string) => this.root.querySelector<HTMLElement>(`[data-part="${name}"]`)!;
    this.root.dataset.sessionId = String(detail.sessionDbId);
    this.root.dataset.state = detail.state;
    this.root.dataset.lifecycle = detail.lifecycle;
    setText(part('title'), `Session #${detail.sessionDbId} · ${detail.contentSessionId}`);
    part('state').replaceChildren(
      el('span', { class: `badge ${detail.lifecycle}` }, detail.lifecycle),
      ` ${detail.state}`,
      ` · project ${detail.project || '—'} · stream ${detail.stream.status}, ${count(detail.stream.lastSeq)} events`,
    );
    this.#highlight(detail.state);
    part('deadlines').replaceChildren(...this.#deadlines(detail));
    part('cost').replaceChildren(
      detail.live === null
        ? el('p', { class: 'muted' }, 'Released with the session; /metrics keeps the totals.')
        : costTable(detail.live.costByProvider),
    );
    part('history').replaceChildren(...this.#history(detail));
    part('timeline').replaceChildren(...this.#timeline(detail));
    this.tick();
  }

  #deadlines(detail: SessionDetail): HTMLElement[] {
    const rows: HTMLElement[] = [];
    const at = (label: string, value: number | null, countdown = true) => {
      if (value === null) return;
      rows.push(
        el(
          'tr',
          {},
          el('th', {}, label),
          el('td', {}, clock(value)),
          el('td', countdown ? { 'data-countdown': value, class: 'countdown' } : {}, countdown ? '' : ''),
        ),
      );
    };
    if (detail.live !== null) {
      const live = detail.live;
      at('created', live.createdAt, false);
      at('last activity', live.lastActivityAt, false);
      if (live.next?.kind === 'expiring') at('becomes expiring (idle TTL)', live.next.at);
      if (live.next?.kind === 'disposed') at('disposed (end of grace)', live.next.at);
      if (live.next?.kind === 'retry') at(live.lastFailure?.kind === 'paused' ? 'pause ends' : 'retry', live.next.at);
      const facts = [
        `queue ${count(live.queueLength)}`,
        `prompt #${live.promptNumber}`,
        live.attempt > 0 ? `attempt ${live.attempt + 1}` : '',
        live.completing ? 'completing (disposes once the queue is done)' : '',
        live.lastFailure ? `last failure: ${live.lastFailure.kind}, ${live.lastFailure.message}` : '',
        ...Object.entries(live.counters)
          .filter(([, n]) => n > 0)
          .map(([name, n]) => `${name} ${count(n)}`),
      ].filter(Boolean);
      return [el('table', { class: 'facts' }, ...rows), el('p', { class: 'muted' }, facts.join(' · '))];
    }
    const gone = detail.disposal;
    return [
      el(
        'p',
        { class: 'disposed-note' },
        gone === null
          ? 'Not live, and the log records no disposal.'
          : `Disposed: ${gone.reason} at ${clock(gone.at)}${gone.droppedItems > 0 ? `, ${gone.droppedItems} queued items dropped` : ''}.`,
      ),
      ...(detail.summary
        ? [
            el(
              'p',
              { class: 'muted' },
              `Its stream was compacted at ${clock(detail.summary.compactedAt)}: ${count(detail.summary.events)} events, ${count(detail.summary.processed)} items processed, ${count(detail.summary.failed)} failed. Only this summary is kept.`,
            ),
          ]
        : []),
    ];
  }

  #history(detail: SessionDetail): HTMLElement[] {
    const { history } = detail;
    if (detail.live === null) return [el('p', { class: 'muted' }, 'The history was released when the session was disposed.')];
    const header = el(
      'p',
      { class: 'muted' },
      `${count(history.messages.length)} messages, ${count(history.tokens)} estimated tokens; bounded to ${count(history.maxMessages)} messages and ${count(history.maxTokens)} tokens after every append.`,
    );
    const list = el(
      'ol',
      { class: 'history' },
      ...history.messages.map((message) =>
        el(
          'li',
          { class: message.role },
          el(
            'details',
            {},
            el(
              'summary',
              {},
              el('strong', {}, message.role),
              ` · ${count(message.tokens)} tokens${message.pinned ? ' · pinned' : ''} · `,
              clip(message.content.replace(/\s+/g, ' '), 140),
            ),
            el('pre', {}, message.content + (message.clipped ? '\n[cut for the page; the log has it whole]' : '')),
          ),
        ),
      ),
    );
    return [header, list];
  }

  #memories(answer: MemoriesAnswer): HTMLElement[] {
    if (!answer.available) return [el('p', { class: 'muted' }, 'This worker’s engine keeps no memories.')];
    if (answer.entries.length === 0) return [el('p', { class: 'muted' }, 'No memories yet: none of its replies has been stored.')];
    const note = `${count(answer.entries.length)} memories, oldest first${answer.hasMore ? ' (its newest only)' : ''}.`;
    return [el('p', { class: 'muted' }, note), memoryList(answer.entries)];
  }

  #timeline(detail: SessionDetail): HTMLElement[] {
    const { timeline } = detail;
    const shown =
      timeline.entries.length < timeline.total ? `The last ${count(timeline.entries.length)} of ${count(timeline.total)} events` : null;
    // Where there is no log on the worker's machine (Restate), every event is on the events route.
    const note =
      timeline.source !== 'log'
        ? `${shown ?? `${count(timeline.total)} events`}, from the session's bounded timeline in the ${timeline.source} engine; \`GET /api/sessions/${detail.sessionDbId}/events\` lists every event.`
        : shown !== null
          ? `${shown}; \`npm run replay -- ${detail.sessionDbId}\` prints them all.`
          : `${count(timeline.total)} events, replayed from the log as \`npm run replay -- ${detail.sessionDbId}\` prints them.`;
    const head = el('tr', {}, ...['time', 'seq', 'event', 'state after', 'queue', 'history', 'detail'].map((t) => el('th', {}, t)));
    const rows = timeline.entries.map((entry) =>
      el(
        'tr',
        { 'data-seq': entry.seq },
        el('td', {}, clock(entry.at)),
        el('td', { class: 'num' }, String(entry.seq)),
        el('td', {}, entry.event),
        el('td', {}, entry.state),
        el('td', { class: 'num' }, count(entry.queueLength)),
        el('td', { class: 'num' }, `${entry.historyLength} (${count(entry.historyTokens)} tok)`),
        el('td', { class: 'detail' }, entry.detail),
      ),
    );
    return [
      el('p', { class: 'muted' }, note + (timeline.skipped > 0 ? ` ${timeline.skipped} events could not be replayed.` : '')),
      el('table', { class: 'timeline' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    ];
  }
}
