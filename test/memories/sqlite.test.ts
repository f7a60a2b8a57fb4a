import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteMemories, REPLY_EVENT } from '../../src/memories/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { memoryStoreContract } from './contract.js';

memoryStoreContract('SQLite, in the event log file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'memories-contract-'));
  const log = openSqliteStore(join(dir, 'session-events.db'));
  const store = openSqliteMemories(log);
  return {
    store,
    async close() {
      await store.close();
      log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** The agent's done event, as the registry logs it. */
function replyEvent(reply: string, at: number, items = ['t1']) {
  return {
    type: REPLY_EVENT,
    payload: {
      type: REPLY_EVENT,
      output: { reply, replyTokens: 1, at, answers: items.map((id) => ({ id, kind: 'observation', promptNumber: 2, toolUseId: id })) },
    },
    at,
  };
}

const OBSERVATION =
  '<observation><type>change</type><title>Edited a.ts</title><files_modified><file>/r/a.ts</file></files_modified></observation>';

describe('SQLite memories as a projection of the log', () => {
  const tempDir = useTempDir();

  it('stores a reply’s memories in the commit that logs the reply, attributed to its session, prompt and items', async () => {
    const log = openSqliteStore(join(tempDir(), 'log.db'));
    const memories = openSqliteMemories(log);
    const session = log.openSession('content-1', 'proj', 0);
    log.append(session.sessionDbId, { type: 'WORK_QUEUED', payload: { type: 'WORK_QUEUED' }, at: 1 });
    const seq = log.append(session.sessionDbId, replyEvent(OBSERVATION, 2, ['t1', 't2']));
    expect((await memories.stats()).observations).toBe(0);
    await log.flush();
    const [stored] = (await memories.observations({ offset: 0, limit: 5 })).items;
    expect(stored).toMatchObject({
      sessionDbId: session.sessionDbId,
      seq,
      contentSessionId: 'content-1',
      project: 'proj',
      promptNumber: 2,
      items: ['t1', 't2'],
      title: 'Edited a.ts',
      createdAt: 2,
    });
    await memories.close();
    log.close();
  });

  it('drops a reply’s memories with its commit when the commit fails, and stores them with the log when it succeeds', async () => {
    let diskFull = true;
    const log = openSqliteStore(join(tempDir(), 'log.db'), {
      beforeCommit: () => {
        if (diskFull) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      },
    });
    const memories = openSqliteMemories(log);
    const sessionDbId = (() => {
      diskFull = false;
      const id = log.openSession('c', 'p', 0).sessionDbId;
      diskFull = true;
      return id;
    })();
    log.append(sessionDbId, replyEvent(OBSERVATION, 1));
    await expect(log.flush()).rejects.toThrow(/full/);
    expect(await memories.stats()).toMatchObject({ observations: 0, replies: 0 });
    expect(log.readEvents(sessionDbId)).toEqual([]);
    diskFull = false;
    log.append(sessionDbId, replyEvent(OBSERVATION, 2));
    await log.flush();
    expect(await memories.stats()).toMatchObject({ observations: 1, replies: 1 });
    await memories.close();
    log.close();
  });

  it('catches up, once, with the replies of a log written without memories, and keeps them after compaction', async () => {
    const path = join(tempDir(), 'log.db');
    const before = openSqliteStore(path);
    const { sessionDbId } = before.openSession('c', 'p', 0);
    for (let n = 0; n < 3; n++) before.append(sessionDbId, replyEvent(OBSERVATION, n + 1, [`t${n}`]));
    before.append(sessionDbId, replyEvent('I could not read the tool output.', 9, ['t9']));
    await before.flush();
    before.close();

    const log = openSqliteStore(path);
    const memories = openSqliteMemories(log);
    expect(memories.caughtUp).toBe(4);
    expect(await memories.stats()).toMatchObject({ observations: 4, replies: 4 });
    expect((await memories.search({ text: 'could not read', limit: 5 })).observations[0]).toMatchObject({ type: 'note' });
    await memories.close();
    log.close();

    const again = openSqliteStore(path);
    const reopened = openSqliteMemories(again);
    expect(reopened.caughtUp).toBe(0);
    again.sessionDisposed(sessionDbId, { reason: 'completed', at: 10, droppedItems: 0 }, { processed: 4, failed: 0 });
    await again.flush();
    expect(again.compact(100, 100).compacted).toBe(1);
    expect(again.readEvents(sessionDbId)).toEqual([]);
    expect(await reopened.stats()).toMatchObject({ observations: 4, replies: 4 });
    await reopened.close();
    again.close();
  });

  it('refuses memory tables written by a newer version, naming the file', () => {
    const path = join(tempDir(), 'log.db');
    const log = openSqliteStore(path);
    log.database.exec(
      "CREATE TABLE memory_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID; INSERT INTO memory_meta VALUES ('schema', 99)",
    );
    expect(() => openSqliteMemories(log)).toThrow(/newer session-lifecycle \(memory schema 99/);
    log.close();
  });
});

describe('memories through the registry: retries and batch splits', () => {
  const tempDir = useTempDir();

  it('stores each item’s memory once when a batch fails, is retried, then is refused whole and split', async () => {
    const { createSessionRegistry } = await import('../../src/registry/index.js');
    const { AgentError } = await import('../../src/agents/index.js');
    const { replyNaming } = await import('../support/crash-reply.js');
    const log = openSqliteStore(join(tempDir(), 'log.db'));
    const memories = openSqliteMemories(log);
    let calls = 0;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const registry = createSessionRegistry({
      store: log,
      memoryPressure: false,
      backoffBaseMs: 1,
      agent: {
        name: 'picky',
        run: async (request) => {
          calls++;
          // The first call is held until the other items are queued behind it, so they form one batch.
          if (request.items[0]!.kind === 'prompt') {
            await held;
            return { text: '<ack>ok</ack>' };
          }
          if (calls === 2) throw new AgentError('retryable', 'connection reset');
          if (request.items.length > 1) throw new AgentError('fatal', 'the batch is too large for the model');
          return { text: replyNaming(request.items.map((item) => item.id)) };
        },
      },
    });
    await registry.init({ contentSessionId: 'split', project: 'p' }, { prompt: 'work' });
    for (const id of ['a', 'b', 'c'])
      await registry.enqueue({ contentSessionId: 'split' }, { kind: 'observation', prompt: id, toolUseId: id });
    release();
    await waitFor(() => registry.get({ contentSessionId: 'split' })?.lifecycle === 'idle', {
      what: 'the split session idle',
      timeoutMs: 5_000,
      on: [(recheck) => registry.on('processed', recheck)],
    });
    await log.flush();
    const titles = (await memories.observations({ offset: 0, limit: 10 })).items.map((o) => o.title).sort();
    expect(titles).toEqual(['a', 'b', 'c']);
    // One reply for the prompt (an acknowledgement: nothing to remember) and one per item after the split.
    expect(await memories.stats()).toMatchObject({ observations: 3, replies: 4 });
    expect(calls).toBe(6);
    await registry.shutdown();
    await memories.close();
    log.close();
  });
});
