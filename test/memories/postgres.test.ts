/**
 * The PostgreSQL memory store against a real PostgreSQL 18 (test/support/postgres.ts: started once for
 * this file, a fresh database per test): the whole MemoryStore contract, then what only a shared
 * database has to get right (several processes opening and writing it at once, values PostgreSQL
 * cannot hold, the database out of reach).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeConnection,
  INDEXED_CHARACTERS,
  MemoryStoreUnavailableError,
  openPostgresMemories,
  type ParsedReply,
} from '../../src/memories/index.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../support/process.js';
import { memoryStoreContract, observation, source, summary } from './contract.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => server?.stop());

/** A store on a database of its own, dropped with it. */
async function openFresh() {
  const database = await server.createDatabase();
  const store = await openPostgresMemories({ connectionString: database.url, maxConnections: 4 });
  return {
    database,
    store,
    async close() {
      await store.close();
      await server.dropDatabase(database.name);
    },
  };
}

memoryStoreContract('PostgreSQL', openFresh);

const reply = (observations = [observation()], summaries = [summary()]): ParsedReply => ({ observations, summaries, acknowledged: false });

describe('PostgreSQL memories, shared by several processes', () => {
  it('is migrated once when several stores open an empty database at the same time', async () => {
    const database = await server.createDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresMemories({ connectionString: database.url })));
    expect(stores.map((store) => store.migratedFrom).sort()).toEqual([0, 1, 1, 1]);
    await stores[0]!.remember(source(), reply());
    expect(await stores[3]!.stats()).toMatchObject({ observations: 1, summaries: 1, replies: 1 });
    const reopened = await openPostgresMemories({ connectionString: database.url });
    expect(reopened.migratedFrom).toBe(1);
    for (const store of [...stores, reopened]) await store.close();
    await server.dropDatabase(database.name);
  });

  it('stores a reply once when several processes store it at the same time', async () => {
    const { store, database, close } = await openFresh();
    const others = await Promise.all(Array.from({ length: 3 }, () => openPostgresMemories({ connectionString: database.url })));
    const results = await Promise.all(
      [store, ...others].flatMap((each) => [each.remember(source({ seq: 5 }), reply()), each.remember(source({ seq: 5 }), reply())]),
    );
    expect(results.filter((result) => result.stored)).toEqual([{ stored: true, observations: 1, summaries: 1 }]);
    expect(await store.stats()).toEqual({ observations: 1, summaries: 1, replies: 1, projects: 1 });
    for (const other of others) await other.close();
    await close();
  });

  it('refuses tables written by a newer version, naming the database without its password', async () => {
    const { database, close, store } = await openFresh();
    await store.close();
    await server.query("UPDATE memory_meta SET value = 99 WHERE key = 'schema'", [], database.name);
    const refused = openPostgresMemories({ connectionString: database.url });
    await expect(refused).rejects.toThrow(/holds memories written by a newer session-lifecycle \(memory schema 99/);
    await expect(refused).rejects.toThrow(`postgresql://postgres@127.0.0.1:${server.port}/${database.name}`);
    await expect(refused).rejects.not.toThrow(new URL(database.url).password);
    await close();
  });

  it('keeps what PostgreSQL cannot hold as text (NUL) without it, and searches the start of a very long memory', async () => {
    const { store, close } = await openFresh();
    const long = `${'needle '.repeat(10)}${'filler words here '.repeat(INDEXED_CHARACTERS / 6)}lastword`;
    const stored = await store.remember(
      source({ project: 'p\u0000' }),
      reply([observation({ title: 'nul\u0000byte', facts: ['a\u0000b'], narrative: long })], [summary({ request: '\u0000' })]),
    );
    expect(stored).toMatchObject({ stored: true, observations: 1 });
    const [found] = (await store.observations({ project: 'p', offset: 0, limit: 1 })).items;
    expect(found).toMatchObject({ title: 'nulbyte', facts: ['ab'], project: 'p', narrative: long });
    expect((await store.search({ text: 'needle', limit: 5 })).observations).toHaveLength(1);
    expect((await store.search({ text: 'lastword', limit: 5 })).observations).toHaveLength(0);
    expect((await store.search({ text: 'nulbyte', project: 'p\u0000', limit: 5 })).observations).toHaveLength(1);
    await close();
  });

  it('says when the database is out of reach, and names it without its password', async () => {
    const port = await freePort();
    const connectionString = `postgresql://someone:secret@127.0.0.1:${port}/memories`;
    expect(describeConnection(connectionString)).toBe(`postgresql://someone@127.0.0.1:${port}/memories`);
    const refused = openPostgresMemories({ connectionString });
    await expect(refused).rejects.toBeInstanceOf(MemoryStoreUnavailableError);
    await expect(refused).rejects.toThrow(`PostgreSQL at postgresql://someone@127.0.0.1:${port}/memories is out of reach`);

    // A store whose server goes away answers unavailable, then works again once it is back.
    const { store, close } = await openFresh();
    await store.remember(source(), reply());
    await server.restart();
    // The pool's connections died with the server: the first call may find one of them dead.
    const first = await store.stats().catch((error: unknown) => error);
    if (first instanceof Error) expect(first).toBeInstanceOf(MemoryStoreUnavailableError);
    expect(await store.stats()).toMatchObject({ observations: 1 });
    await server.kill();
    await expect(store.search({ text: 'title', limit: 5 })).rejects.toBeInstanceOf(MemoryStoreUnavailableError);
    await expect(store.remember(source({ seq: 2 }), reply())).rejects.toBeInstanceOf(MemoryStoreUnavailableError);
    await server.restart();
    expect(await store.remember(source({ seq: 2 }), reply())).toMatchObject({ stored: true });
    await close();
  });
});
