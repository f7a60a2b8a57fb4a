/** Memories on the page: the list a session's page shows, and the view that searches them all. */
import type { MemoriesAnswer, MemoryEntry } from '../../src/dashboard/protocol.js';
import { getJson } from './connection.js';
import { clock, count, el, setText } from './dom.js';

/** A list of memories: type, title, where they come from, then what they hold. */
export function memoryList(entries: readonly MemoryEntry[]): HTMLElement {
  return el(
    'ol',
    { class: 'memories' },
    ...entries.map((entry) =>
      el(
        'li',
        { class: `memory ${entry.kind}`, 'data-kind': entry.kind, 'data-id': entry.id },
        el(
          'details',
          {},
          el(
            'summary',
            {},
            el('span', { class: `badge type-${entry.type}` }, entry.type),
            ' ',
            el('strong', {}, entry.title),
            el(
              'span',
              { class: 'muted' },
              ` · #${entry.id} · ${clock(entry.createdAt)} · ${entry.project}`,
              entry.sessionDbId === null ? ` · imported (${entry.origin})` : ' · ',
              entry.sessionDbId === null ? null : el('a', { href: `#/session/${entry.sessionDbId}` }, `session #${entry.sessionDbId}`),
              entry.promptNumber === null ? '' : ` · prompt ${entry.promptNumber}`,
            ),
          ),
          el('dl', {}, ...entry.lines.flatMap((line) => [el('dt', {}, line.label), el('dd', {}, line.text)])),
        ),
      ),
    ),
  );
}

/** `#/memories`: a search box over every memory (lexical: words and their stems), newest first without words. */
export class MemoriesView {
  #offset = 0;
  #generation = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly onError: (error: unknown) => void,
  ) {
    const form = root.querySelector<HTMLFormElement>('[data-part="search"]')!;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#offset = 0;
      void this.search();
    });
    root.querySelector<HTMLButtonElement>('[data-part="more"]')!.addEventListener('click', () => void this.search(true));
  }

  async search(more = false): Promise<void> {
    const mine = ++this.#generation;
    const words = this.root.querySelector<HTMLInputElement>('[data-part="query"]')!.value;
    const project = this.root.querySelector<HTMLInputElement>('[data-part="project"]')!.value;
    const params = new URLSearchParams({ q: words, project, limit: '50', offset: String(more ? this.#offset : 0) });
    const results = this.root.querySelector<HTMLElement>('[data-part="results"]')!;
    const note = this.root.querySelector<HTMLElement>('[data-part="note"]')!;
    try {
      const answer = await getJson<MemoriesAnswer>(`/dashboard/api/memories?${params}`);
      if (mine !== this.#generation) return;
      if (!more) results.replaceChildren();
      this.#offset = (more ? this.#offset : 0) + 50;
      results.append(memoryList(answer.entries));
      const shown = results.querySelectorAll('li.memory').length;
      setText(
        note,
        !answer.available
          ? 'This worker’s engine keeps no memories.'
          : shown === 0
            ? 'No memories match.'
            : `${count(shown)} shown${answer.ranking === null ? ', newest first' : `, best match first (${answer.ranking})`}.`,
      );
      this.root.querySelector<HTMLButtonElement>('[data-part="more"]')!.hidden = !answer.hasMore;
    } catch (error) {
      setText(note, (error as Error).message);
      this.onError(error);
    }
  }
}
