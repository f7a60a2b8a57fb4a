import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APPLICATION_ID,
  createMemoryStore,
  type EventStore,
  EventStoreError,
  openSqliteStore,
  SCHEMA_VERSION,
} from '../../src/store/index.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();
const opened: EventStore[] = [];
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
});

const kinds: [string, () => EventStore][] = [
  ['memory', () => createMemoryStore()],
  ['sqlite', () => openSqliteStore(join(tempDir(), 'log', 'session-events.db'))],
];

const disposal = (at: number) => ({ reason: 'ttl' as const, at, droppedItems: 0 });

describe.each(kinds)('%s store', (_, create) => {
  const open = () => {
    const store = create();
    opened.push(store);
    return store;
  };

  it('gives a content session one durable id, and creates it once', () => {
    const store = open();
    const a = store.openSession('content-a', 'proj', 1_000);
    expect(store.openSession('content-a', 'other', 2_000)).toMatchObject({ sessionDbId: a.sessionDbId, project: 'proj', createdAt: 1_000 });
    expect(store.openSession('content-b', 'proj', 3_000).sessionDbId).not.toBe(a.sessionDbId);
    expect(store.findSession('content-a')?.sessionDbId).toBe(a.sessionDbId);
    expect(store.getSession(a.sessionDbId)?.contentSessionId).toBe('content-a');
    expect(store.getSession(999)).toBeUndefined();
  });

  it('appends in order with consecutive seqs, and pages through a stream', async () => {
    const store = open();
    const { sessionDbId } = store.openSession('c', 'p', 0);
    const seqs = [
      store.append(sessionDbId, { type: 'xstate.init', payload: { type: 'xstate.init', input: { x: 1 } }, at: 10 }),
      store.append(sessionDbId, { type: 'INIT', payload: { type: 'INIT', promptNumber: 3 }, at: 20 }),
      store.append(sessionDbId, { type: 'TOUCH', payload: { type: 'TOUCH' }, at: 30 }),
    ];
    await store.flush();
    expect(seqs).toEqual([1, 2, 3]);
    expect(store.readEvents(sessionDbId).map((e) => [e.seq, e.type, e.at])).toEqual([
      [1, 'xstate.init', 10],
      [2, 'INIT', 20],
      [3, 'TOUCH', 30],
    ]);
    expect(store.readEvents(sessionDbId, { afterSeq: 1, limit: 1 }).map((e) => e.seq)).toEqual([2]);
    expect(store.readEvents(sessionDbId)[0]!.payload).toEqual({ type: 'xstate.init', input: { x: 1 } });
    expect(store.getSession(sessionDbId)).toMatchObject({ lastSeq: 3, incarnationSeq: 1, lastPromptNumber: 3, status: 'live' });
    expect(store.liveSessions().map((s) => s.sessionDbId)).toEqual([sessionDbId]);
  });

  it('keeps only the latest snapshot', () => {
    const store = open();
    const { sessionDbId } = store.openSession('c', 'p', 0);
    store.append(sessionDbId, { type: 'xstate.init', payload: { type: 'xstate.init' }, at: 0 });
    store.saveSnapshot(sessionDbId, { seq: 1, value: 'idle', context: { n: 1 } as never, at: 1 });
    store.saveSnapshot(sessionDbId, { seq: 5, value: { active: 'waiting' }, context: { n: 2 } as never, at: 2 });
    expect(store.latestSnapshot(sessionDbId)).toEqual({ seq: 5, value: { active: 'waiting' }, context: { n: 2 }, at: 2 });
    expect(store.stats().snapshots).toBe(1);
  });

  it('compacts a disposed stream to one summary after the retention period, and reopens it later', async () => {
    const store = open();
    const { sessionDbId } = store.openSession('c', 'p', 0);
    for (let i = 0; i < 5; i++) store.append(sessionDbId, { type: i === 0 ? 'xstate.init' : 'TOUCH', payload: {}, at: i });
    store.saveSnapshot(sessionDbId, { seq: 3, value: 'idle', context: {} as never, at: 3 });
    store.sessionDisposed(sessionDbId, disposal(100), { processed: 7, failed: 1 });
    await store.flush();
    expect(store.liveSessions()).toEqual([]);

    expect(store.compact(99, 1_000)).toEqual({ compacted: 0, eventsRemoved: 0 });
    expect(store.compact(100, 1_000)).toEqual({ compacted: 1, eventsRemoved: 5 });
    expect(store.readEvents(sessionDbId)).toEqual([]);
    expect(store.latestSnapshot(sessionDbId)).toBeUndefined();
    expect(store.getSession(sessionDbId)).toMatchObject({
      status: 'compacted',
      lastSeq: 5,
      summary: { createdAt: 0, disposedAt: 100, reason: 'ttl', events: 5, processed: 7, failed: 1, droppedItems: 0, compactedAt: 1_000 },
    });
    expect(store.compact(10_000, 10_000).compacted).toBe(0);

    // The same content session comes back: a new incarnation continues the stream.
    store.append(sessionDbId, { type: 'xstate.init', payload: {}, at: 2_000 });
    await store.flush();
    expect(store.getSession(sessionDbId)).toMatchObject({ status: 'live', incarnationSeq: 6, lastSeq: 6 });
  });

  it('commits every append of one turn in one transaction, and resolves every flush of it after', async () => {
    const store = open();
    const { sessionDbId } = store.openSession('c', 'p', 0);
    const flushes = [1, 2, 3].map((n) => {
      store.append(sessionDbId, { type: 'TOUCH', payload: { n }, at: n });
      return store.flush();
    });
    await Promise.all(flushes);
    expect(store.readEvents(sessionDbId).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it('counts what it holds', async () => {
    const store = open();
    const { sessionDbId } = store.openSession('c', 'p', 0);
    store.append(sessionDbId, { type: 'xstate.init', payload: {}, at: 0 });
    await store.flush();
    expect(store.stats()).toMatchObject({ sessions: 1, liveStreams: 1, events: 1, snapshots: 0 });
  });
});

describe('sqlite store on disk', () => {
  const path = () => join(tempDir(), 'session-events.db');

  it('keeps everything flushed across a reopen, in WAL mode with the current schema', async () => {
    const first = openSqliteStore(path());
    const { sessionDbId } = first.openSession('c', 'p', 5);
    first.append(sessionDbId, { type: 'xstate.init', payload: { input: 1 }, at: 6 });
    first.sessionDisposed(sessionDbId, disposal(7), { processed: 1, failed: 0 });
    await first.flush();
    first.close();

    const raw = new Database(path(), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(raw.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(raw.pragma('auto_vacuum', { simple: true })).toBe(2); // incremental
    raw.close();

    const second = openSqliteStore(path());
    opened.push(second);
    expect(second.getSession(sessionDbId)).toMatchObject({ status: 'disposed', disposal: disposal(7), lastSeq: 1 });
    expect(second.readEvents(sessionDbId).map((e) => e.payload)).toEqual([{ input: 1 }]);
  });

  it('reads a stream with what is still buffered after what is committed, each stream only its own, in order', async () => {
    const store = openSqliteStore(path());
    opened.push(store);
    const a = store.openSession('a', 'p', 0).sessionDbId;
    const b = store.openSession('b', 'p', 0).sessionDbId;
    store.append(a, { type: 'E', payload: { n: 1 }, at: 1 });
    await store.flush();
    // Buffered, interleaved across the two streams, as a recovery that restores one session after another leaves them.
    for (let n = 2; n <= 5; n++) {
      store.append(a, { type: 'E', payload: { n }, at: n });
      store.append(b, { type: 'E', payload: { n }, at: n });
    }
    expect(store.readEvents(a).map((e) => [e.seq, (e.payload as { n: number }).n])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(store.readEvents(b).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(store.readEvents(a, { afterSeq: 2, limit: 2 }).map((e) => e.seq)).toEqual([3, 4]);
    expect(store.readEvents(b, { afterSeq: 3 }).map((e) => e.seq)).toEqual([4]);
    await store.flush();
    expect(store.readEvents(a).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(store.readEvents(b).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('commits buffered events at the end of the event-loop turn even when nobody flushes', async () => {
    const store = openSqliteStore(path());
    opened.push(store);
    const { sessionDbId } = store.openSession('c', 'p', 0);
    store.append(sessionDbId, { type: 'xstate.init', payload: {}, at: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    const raw = new Database(path(), { readonly: true });
    expect(raw.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
    raw.close();
  });

  const expectRefusal = (file: string, code: string, message: RegExp) => {
    let error: unknown;
    try {
      openSqliteStore(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EventStoreError);
    expect(error).toMatchObject({ code, path: file });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(message);
  };

  it('refuses a file that is not a database, naming it and saying what to do', () => {
    writeFileSync(path(), Buffer.alloc(8_192, 7));
    expectRefusal(path(), 'not-a-database', /Move it aside|CLAUDE_MEM_DATA_DIR/);
  });

  it('refuses a truncated log', async () => {
    const store = openSqliteStore(path());
    const { sessionDbId } = store.openSession('c', 'p', 0);
    for (let i = 0; i < 5_000; i++) store.append(sessionDbId, { type: 'TOUCH', payload: { pad: 'x'.repeat(200) }, at: i });
    store.close();
    const bytes = readFileSync(path());
    writeFileSync(path(), bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectRefusal(path(), 'corrupt', /damaged.*\.recover/s);
  });

  it('refuses a log written by a newer schema', () => {
    openSqliteStore(path()).close();
    const raw = new Database(path());
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expectRefusal(path(), 'newer-schema', /newer session-lifecycle.*Upgrade/);
  });

  it('refuses some other application’s SQLite database rather than writing into it', () => {
    const raw = new Database(path());
    raw.exec('CREATE TABLE observations (id INTEGER PRIMARY KEY, text TEXT)');
    raw.close();
    expectRefusal(path(), 'foreign-database', /not a session-lifecycle event log/);
  });

  it('says when the directory cannot be created', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    expectRefusal(join(file, 'session-events.db'), 'unwritable', /cannot create the directory/);
  });
});
