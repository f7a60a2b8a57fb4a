/**
 * The memory store's contract as tests: every implementation (SQLite beside the log; PostgreSQL on
 * Restate) runs this same suite through `memoryStoreContract(name, open)`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type MemoryStore,
  noteOf,
  type ObservationFields,
  type ParsedReply,
  type ReplySource,
  type SummaryFields,
} from '../../src/memories/index.js';

export interface OpenedMemoryStore {
  readonly store: MemoryStore;
  /** Closes the store and removes what it kept. */
  close(): Promise<void>;
}

export function observation(fields: Partial<ObservationFields> = {}): ObservationFields {
  return {
    type: 'discovery',
    title: 'a title',
    subtitle: null,
    facts: [],
    narrative: null,
    concepts: [],
    filesRead: [],
    filesModified: [],
    text: null,
    ...fields,
  };
}

export function summary(fields: Partial<SummaryFields> = {}): SummaryFields {
  return { request: 'a request', investigated: null, learned: null, completed: null, nextSteps: null, notes: null, ...fields };
}

export function source(fields: Partial<ReplySource> = {}): ReplySource {
  return { sessionDbId: 1, seq: 1, contentSessionId: 'content-1', project: 'p', promptNumber: 1, items: ['i1'], at: 1_000, ...fields };
}

const reply = (observations: ObservationFields[] = [], summaries: SummaryFields[] = []): ParsedReply => ({
  observations,
  summaries,
  acknowledged: false,
});

export function memoryStoreContract(name: string, open: () => Promise<OpenedMemoryStore>): void {
  describe(`MemoryStore contract: ${name}`, () => {
    let opened: OpenedMemoryStore;
    let store: MemoryStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => opened.close());

    it('stores a reply once, with every field, whatever the retries', async () => {
      const fields = observation({
        type: 'bugfix',
        title: 'Fixed the loop',
        subtitle: 'reset',
        facts: ['one', 'two'],
        narrative: 'long story',
        concepts: ['gotcha'],
        filesRead: ['/repo/a.ts'],
        filesModified: ['/repo/b.ts'],
      });
      const sum = summary({ request: 'fix', investigated: 'i', learned: 'l', completed: 'c', nextSteps: 'n', notes: 'x' });
      const from = source({ sessionDbId: 7, seq: 42, promptNumber: 3, items: ['t1', 't2'], at: 5_000 });
      expect(await store.remember(from, reply([fields, noteOf('raw words')], [sum]))).toEqual({
        stored: true,
        observations: 2,
        summaries: 1,
      });
      expect(await store.remember(from, reply([fields], [sum]))).toEqual({ stored: false, observations: 0, summaries: 0 });
      expect(await store.remembered(7, 42)).toBe(true);
      expect(await store.remembered(7, 43)).toBe(false);

      const page = await store.observations({ offset: 0, limit: 10 });
      expect(page.items).toHaveLength(2);
      const stored = page.items.find((item) => item.type === 'bugfix')!;
      expect(stored).toMatchObject({
        kind: 'observation',
        sessionDbId: 7,
        seq: 42,
        contentSessionId: 'content-1',
        project: 'p',
        promptNumber: 3,
        items: ['t1', 't2'],
        createdAt: 5_000,
        origin: 'reply',
        ...fields,
      });
      expect(page.items.find((item) => item.type === 'note')).toMatchObject({ text: 'raw words', title: 'raw words' });
      expect((await store.summaries({ offset: 0, limit: 10 })).items).toEqual([
        expect.objectContaining({ kind: 'summary', sessionDbId: 7, seq: 42, ...sum, createdAt: 5_000 }),
      ]);
      expect(await store.get('observation', stored.id)).toEqual(stored);
      expect(await store.stats()).toEqual({ observations: 2, summaries: 1, replies: 1, projects: 1 });
    });

    it('gives the newest observations and the latest summary of the newest sessions of the projects asked for', async () => {
      let seq = 0;
      const at = (n: number) => source({ seq: ++seq, at: n });
      await store.remember(
        { ...at(1_000), contentSessionId: 's1' },
        reply([observation({ title: 'old' })], [summary({ request: 's1 first' })]),
      );
      await store.remember(
        { ...at(2_000), contentSessionId: 's1' },
        reply([observation({ title: 'mid' })], [summary({ request: 's1 latest' })]),
      );
      await store.remember(
        { ...at(3_000), contentSessionId: 's2', sessionDbId: 2 },
        reply([observation({ title: 'new' })], [summary({ request: 's2' })]),
      );
      await store.remember(
        { ...at(4_000), project: 'other' },
        reply([observation({ title: 'elsewhere' })], [summary({ request: 'other' })]),
      );

      const recent = await store.recent({ projects: ['p'], observations: 2, sessions: 10 });
      expect(recent.observations.map((o) => o.title)).toEqual(['new', 'mid']);
      expect(recent.summaries.map((s) => s.request)).toEqual(['s2', 's1 latest']);
      expect((await store.recent({ projects: ['p'], observations: 10, sessions: 1 })).summaries.map((s) => s.request)).toEqual(['s2']);
      const both = await store.recent({ projects: ['p', 'other'], observations: 2, sessions: 2 });
      expect(both.observations.map((o) => o.title)).toEqual(['elsewhere', 'new']);
      expect(both.summaries.map((s) => s.request)).toEqual(['other', 's2']);
      expect(await store.recent({ projects: ['none'], observations: 5, sessions: 5 })).toEqual({ observations: [], summaries: [] });
      expect(await store.recent({ projects: ['p'], observations: 0, sessions: 0 })).toEqual({ observations: [], summaries: [] });
    });

    it('finds the observations of a file by its absolute or project-relative path, newest first', async () => {
      await store.remember(source({ seq: 1, at: 1 }), reply([observation({ title: 'read abs', filesRead: ['/home/u/repo/src/a.ts'] })]));
      await store.remember(source({ seq: 2, at: 2 }), reply([observation({ title: 'edit rel', filesModified: ['src/a.ts'] })]));
      await store.remember(source({ seq: 3, at: 3 }), reply([observation({ title: 'windows', filesRead: ['src\\a.ts'] })]));
      await store.remember(source({ seq: 4, at: 4 }), reply([observation({ title: 'other file', filesRead: ['/home/u/repo/src/b.ts'] })]));
      await store.remember(source({ seq: 5, at: 5 }), reply([observation({ title: 'bare name', filesRead: ['a.ts'] })]));
      await store.remember(
        source({ seq: 6, at: 6, project: 'q' }),
        reply([observation({ title: 'other project', filesRead: ['src/a.ts'] })]),
      );

      const titles = async (paths: string[], projects?: string[], limit = 10) =>
        (await store.byFile({ paths, limit, ...(projects === undefined ? {} : { projects }) })).map((o) => o.title);
      // What claude-mem 13's PreToolUse(Read) sends: the absolute path and the one relative to the working directory.
      expect(await titles(['/home/u/repo/src/a.ts', 'src/a.ts'], ['p'])).toEqual(['windows', 'edit rel', 'read abs']);
      expect(await titles(['src/a.ts'], ['p'])).toEqual(['windows', 'edit rel', 'read abs']);
      expect(await titles(['/home/u/repo/src/a.ts'], ['p'])).toEqual(['windows', 'edit rel', 'read abs']);
      expect(await titles(['src/a.ts'])).toEqual(['other project', 'windows', 'edit rel', 'read abs']);
      expect(await titles(['src/a.ts'], ['p'], 1)).toEqual(['windows']);
      expect(await titles(['/elsewhere/x.ts'])).toEqual([]);
      expect(await titles([''])).toEqual([]);
    });

    it('searches titles, facts, narratives, concepts and files, best match first, safe for any query text', async () => {
      await store.remember(
        source({ seq: 1, at: 1 }),
        reply(
          [observation({ title: 'Retry loop fixed', facts: ['backoff capped'], type: 'bugfix' })],
          [summary({ learned: 'retries need jitter' })],
        ),
      );
      await store.remember(source({ seq: 2, at: 2 }), reply([observation({ title: 'Unrelated', narrative: 'mentions retry once' })]));
      await store.remember(
        source({ seq: 3, at: 3 }),
        reply([observation({ title: 'Config', concepts: ['pattern'], filesRead: ['/r/settings.ts'] })]),
      );
      await store.remember(source({ seq: 4, at: 4, project: 'q' }), reply([observation({ title: 'retry elsewhere' })]));
      await store.remember(source({ seq: 5, at: 5, project: 'p-old' }), reply([observation({ title: 'retry in a project named alike' })]));

      const titles = async (text: string, extra: Partial<Parameters<MemoryStore['search']>[0]> = {}) =>
        (await store.search({ text, limit: 10, ...extra })).observations.map((o) => o.title);
      expect(await titles('retry', { project: 'p' })).toEqual(['Retry loop fixed', 'Unrelated']);
      expect(await titles('retry loop')).toEqual(['Retry loop fixed']);
      expect(await titles('retry loop', { match: 'any', project: 'p' })).toEqual(['Retry loop fixed', 'Unrelated']);
      expect(await titles('retry', { project: 'p-old' })).toEqual(['retry in a project named alike']);
      // A prompt is matched by its telling words, not by "why", "does" or "the".
      expect(await titles('why does the loop do this', { match: 'any' })).toEqual(['Retry loop fixed']);
      expect(await titles('bugfix')).toEqual([]);
      expect(await titles('backoff')).toEqual(['Retry loop fixed']);
      expect(await titles('pattern')).toEqual(['Config']);
      expect(await titles('settings')).toEqual(['Config']);
      expect(await titles('retry', { observationType: 'bugfix' })).toEqual(['Retry loop fixed']);
      expect(await titles('retry', { project: 'p', limit: 1, offset: 1 })).toEqual(['Unrelated']);
      expect((await store.search({ text: 'jitter', limit: 10 })).summaries.map((s) => s.learned)).toEqual(['retries need jitter']);
      expect((await store.search({ text: 'jitter', limit: 10, kinds: ['observation'] })).summaries).toEqual([]);
      expect(await titles('', { project: 'p' })).toEqual(['Config', 'Unrelated', 'Retry loop fixed']);
      for (const hostile of ['"', 'retry") OR NEAR(', '*', 'AND OR NOT', "'; DROP TABLE x; --", '\u0000', 'ü'.repeat(10_000)]) {
        await expect(store.search({ text: hostile, limit: 5 })).resolves.toBeDefined();
      }
    });

    it('pages observations and summaries, newest first, by project and by session', async () => {
      for (let n = 1; n <= 5; n++) {
        await store.remember(
          source({ seq: n, at: n, sessionDbId: n % 2 === 0 ? 2 : 1 }),
          reply([observation({ title: `o${n}` })], [summary({ request: `s${n}` })]),
        );
      }
      const first = await store.observations({ project: 'p', offset: 0, limit: 2 });
      expect(first).toMatchObject({ hasMore: true, offset: 0, limit: 2 });
      expect(first.items.map((o) => o.title)).toEqual(['o5', 'o4']);
      const last = await store.observations({ project: 'p', offset: 4, limit: 2 });
      expect(last.items.map((o) => o.title)).toEqual(['o1']);
      expect(last.hasMore).toBe(false);
      expect((await store.observations({ sessionDbId: 2, offset: 0, limit: 10 })).items.map((o) => o.title)).toEqual(['o4', 'o2']);
      expect((await store.summaries({ project: 'p', offset: 1, limit: 2 })).items.map((s) => s.request)).toEqual(['s4', 's3']);
      expect((await store.observations({ project: 'none', offset: 0, limit: 2 })).items).toEqual([]);
    });

    it('deletes one memory, a project, and what is past retention; a deleted reply is never stored again', async () => {
      await store.remember(source({ seq: 1, at: 1_000 }), reply([observation({ title: 'alpha', filesRead: ['/r/a.ts'] })], [summary()]));
      await store.remember(source({ seq: 2, at: 2_000 }), reply([observation({ title: 'beta' })]));
      await store.remember(source({ seq: 3, at: 3_000, project: 'q' }), reply([observation({ title: 'gamma' })], [summary()]));
      const [b, a] = (await store.observations({ project: 'p', offset: 0, limit: 10 })).items;
      expect(await store.delete('observation', a!.id)).toBe(true);
      expect(await store.delete('observation', a!.id)).toBe(false);
      expect(await store.get('observation', a!.id)).toBeUndefined();
      expect(await store.byFile({ paths: ['/r/a.ts'], limit: 5 })).toEqual([]);
      expect((await store.search({ text: 'alpha', limit: 10 })).observations).toEqual([]);
      expect((await store.search({ text: 'beta', limit: 10 })).observations.map((o) => o.id)).toEqual([b!.id]);
      expect(await store.remember(source({ seq: 1, at: 1_000 }), reply([observation({ title: 'alpha' })]))).toMatchObject({
        stored: false,
      });

      expect(await store.deleteProject('q')).toEqual({ observations: 1, summaries: 1 });
      expect(await store.deleteProject('q')).toEqual({ observations: 0, summaries: 0 });
      expect(await store.forgetBefore(1_500)).toEqual({ observations: 0, summaries: 1 });
      expect(await store.forgetBefore(2_500)).toEqual({ observations: 1, summaries: 0 });
      expect(await store.stats()).toMatchObject({ observations: 0, summaries: 0 });
      // A new memory never takes the id of a deleted one.
      await store.remember(source({ seq: 9, at: 9_000 }), reply([observation({ title: 'later' })]));
      expect((await store.observations({ offset: 0, limit: 1 })).items[0]!.id).toBeGreaterThan(b!.id);
    });

    it('imports memories once: a second import of the same keys adds nothing', async () => {
      const imported = [
        {
          kind: 'observation' as const,
          key: 'claude-mem:m1:observation:1',
          origin: 'claude-mem' as const,
          contentSessionId: 'c1',
          project: 'p',
          promptNumber: 2,
          createdAt: 10,
          fields: observation({ title: 'imported', filesModified: ['src/x.ts'] }),
        },
        {
          kind: 'summary' as const,
          key: 'claude-mem:m1:summary:1',
          origin: 'claude-mem' as const,
          contentSessionId: 'c1',
          project: 'p',
          promptNumber: 2,
          createdAt: 11,
          fields: summary({ request: 'imported request' }),
        },
      ];
      expect(await store.import(imported)).toEqual({ added: { observations: 1, summaries: 1 }, skipped: 0 });
      expect(await store.import(imported)).toEqual({ added: { observations: 0, summaries: 0 }, skipped: 2 });
      const [found] = await store.byFile({ paths: ['/home/me/p/src/x.ts', 'src/x.ts'], limit: 5 });
      expect(found).toMatchObject({
        origin: 'claude-mem',
        sessionDbId: null,
        seq: null,
        contentSessionId: 'c1',
        title: 'imported',
        createdAt: 10,
      });
      expect((await store.recent({ projects: ['p'], observations: 5, sessions: 5 })).summaries.map((s) => s.request)).toEqual([
        'imported request',
      ]);
    });

    it('keeps long and unicode text exactly', async () => {
      const narrative = `${'ünïcødé 🚀 '.repeat(2_000)}\n<tags> & "quotes"`;
      await store.remember(source(), reply([observation({ narrative, facts: ['a\nb', '"q"'] })]));
      const [stored] = (await store.observations({ offset: 0, limit: 1 })).items;
      expect(stored!.narrative).toBe(narrative);
      expect(stored!.facts).toEqual(['a\nb', '"q"']);
      expect((await store.search({ text: 'ünïcødé', limit: 1 })).observations).toHaveLength(1);
    });
  });
}
