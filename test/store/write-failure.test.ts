/**
 * A commit that fails (disk full, I/O error, read-only file) on the real SQLite store: what it held is
 * dropped and said so, never written later; the store tells which sessions it touched; a probe write
 * tells when the log can be written again. Faults come from `beforeCommit`, which fails a commit the
 * way a full disk does, on demand.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CommitFailure, EventStoreError, openSqliteStore } from '../../src/store/index.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();

function faultyStore() {
  let full = false;
  const path = join(tempDir(), 'session-events.db');
  const store = openSqliteStore(path, {
    beforeCommit: () => {
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    },
  });
  const failures: CommitFailure[] = [];
  store.onCommitFailure((failure) => failures.push(failure));
  return {
    path,
    store,
    failures,
    fill: () => {
      full = true;
    },
    free: () => {
      full = false;
    },
  };
}

const event = (type: string, at: number, workKey?: string) => ({
  type,
  payload: { type, at },
  at,
  ...(workKey === undefined ? {} : { workKey }),
});

describe('a commit that fails', () => {
  it('rejects every flush waiting on it with an error naming the cause and the file, and drops what it held', async () => {
    const { path, store, failures, fill, free } = faultyStore();
    const a = store.openSession('a', 'p', 1).sessionDbId;
    const b = store.openSession('b', 'p', 1).sessionDbId;
    store.append(a, event('xstate.init', 1));
    await store.flush();

    fill();
    store.append(a, event('WORK_QUEUED', 2, 'toolu_1'));
    store.append(b, event('xstate.init', 2));
    store.saveSnapshot(a, { seq: 2, value: 'idle', context: {} as never, at: 2 });
    const waiting = [store.flush(), store.flush()];
    for (const flush of waiting) {
      const error = await flush.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EventStoreError);
      expect(error).toMatchObject({ code: 'write-failed', path });
      expect((error as Error).message).toBe(`cannot write the event log ${path}: the disk is full (database or disk is full, SQLITE_FULL)`);
    }
    expect(failures).toHaveLength(1);
    expect([...failures[0]!.sessions].sort()).toEqual([a, b]);

    // Dropped, not buffered for later: the next successful commit does not bring it back.
    expect(store.hasWorkKey(a, 'toolu_1')).toBe(false);
    expect(store.readEvents(a).map((e) => e.type)).toEqual(['xstate.init']);
    expect(store.getSession(a)!.lastSeq).toBe(1);
    expect(() => store.probeWrite()).toThrow(EventStoreError);
    free();
    store.probeWrite();
    store.append(b, event('TOUCH', 3));
    await store.flush();
    expect(store.readEvents(a).map((e) => e.type)).toEqual(['xstate.init']);
    expect(store.readEvents(b).map((e) => [e.seq, e.type])).toEqual([[1, 'TOUCH']]);
    expect(store.latestSnapshot(a)).toBeUndefined();
    store.close();

    const reopened = openSqliteStore(path);
    expect(reopened.readEvents(a).map((e) => e.type)).toEqual(['xstate.init']);
    expect(reopened.hasWorkKey(a, 'toolu_1')).toBe(false);
    reopened.close();
  });

  it('refuses a new identity with the same error, and leaves no row behind', () => {
    const { store, failures, fill } = faultyStore();
    fill();
    expect(() => store.openSession('a', 'p', 1)).toThrow(/the disk is full/);
    expect(store.findSession('a')).toBeUndefined();
    expect(failures).toEqual([expect.objectContaining({ sessions: [] })]);
    store.close();
  });

  it('keeps work keys for the whole life of the stream, across reopening, until it is compacted', async () => {
    const { path, store } = faultyStore();
    const a = store.openSession('a', 'p', 1).sessionDbId;
    store.append(a, event('xstate.init', 1));
    store.append(a, event('WORK_QUEUED', 2, 'toolu_1'));
    expect(store.hasWorkKey(a, 'toolu_1')).toBe(true); // buffered counts
    for (let n = 0; n < 200; n++) store.append(a, event('WORK_QUEUED', 3 + n, `toolu_other_${n}`));
    await store.flush();
    store.close();
    const reopened = openSqliteStore(path);
    expect(reopened.hasWorkKey(a, 'toolu_1')).toBe(true);
    expect(reopened.hasWorkKey(a, 'toolu_never')).toBe(false);
    reopened.sessionDisposed(a, { reason: 'completed', at: 500, droppedItems: 0 }, { processed: 0, failed: 0 });
    await reopened.flush();
    expect(reopened.compact(1_000, 1_000).compacted).toBe(1);
    expect(reopened.hasWorkKey(a, 'toolu_1')).toBe(false);
    reopened.close();
  });
});
