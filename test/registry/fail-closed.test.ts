/**
 * Fail closed: when the log cannot be written, a 2xx (an ok result) still means durable and nothing
 * else leaves a trace. The registry runs on the real SQLite store, whose commits fail on demand the way
 * a full disk fails them (`beforeCommit`); time is faked (commits are not: they use the real setImmediate).
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { controllableAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();
const A = { contentSessionId: 'a', project: 'p' };
const harness = useRegistry();

function setup(options: { idleTtlMs?: number; graceMs?: number } = {}) {
  let full = false;
  const path = join(tempDir(), 'session-events.db');
  const store = harness.sqlite(path, {
    beforeCommit: () => {
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    },
  });
  const agent = controllableAgent();
  const { disposals } = harness;
  const registry = harness.start({
    agent: agent.agent,
    store,
    writeProbeIntervalMs: 1_000,
    idleTtlMs: options.idleTtlMs ?? 60_000,
    graceMs: options.graceMs ?? 1_000,
  });
  const events = (type?: string) =>
    store
      .readEvents(store.findSession('a')!.sessionDbId)
      .filter((event) => type === undefined || event.type === type)
      .map((event) => event.payload as { item?: { id: string } });
  /** Advances fake time, then lets the real commits of what happened land (and what follows them run). */
  const settleTime = async (ms = 0) => {
    await vi.advanceTimersByTimeAsync(ms);
    for (let round = 0; round < 3; round++) {
      await store.flush().catch(() => {});
      await vi.advanceTimersByTimeAsync(0);
    }
  };
  return {
    path,
    store,
    settleTime,
    agent,
    registry,
    disposals,
    events,
    fill: () => {
      full = true;
    },
    free: () => {
      full = false;
    },
  };
}

describe('fail closed', () => {
  it('answers a failed commit with log-unwritable, leaves nothing of it, starts no agent call for it, and recovers by itself', async () => {
    const { path, agent, registry, events, fill, free, settleTime } = setup();
    expect(await registry.init(A, { prompt: 'hello' })).toMatchObject({ ok: true });
    await settleTime();
    agent.pending()[0]!.resolve('hi');
    await settleTime();
    expect(registry.get(A)).toMatchObject({ lifecycle: 'idle', historyLength: 2 });

    fill();
    const refused = await registry.enqueue(A, { kind: 'observation', prompt: 'edit', toolUseId: 'toolu_1' });
    expect(refused).toMatchObject({ ok: false, error: 'log-unwritable', retryAfterMs: 1_000 });
    expect(refused.ok === false && refused.error === 'log-unwritable' && refused.message).toContain(path);
    expect(registry.health()).toMatchObject({ writable: false, location: path, error: expect.stringContaining('the disk is full') });
    await settleTime(5_000);
    expect(agent.calls).toHaveLength(1); // none for the refused item
    // The session is what the log holds: idle, nothing queued, and it cannot be changed meanwhile.
    expect(registry.get(A)).toMatchObject({ lifecycle: 'idle', queueLength: 0, historyLength: 2 });
    expect(registry.stats()).toMatchObject({ frozen: 1, live: 1 });
    expect(await registry.enqueue(A, { kind: 'observation', prompt: 'edit', toolUseId: 'toolu_2' })).toMatchObject({
      error: 'log-unwritable',
    });
    expect(await registry.init({ contentSessionId: 'b', project: 'p' }, { prompt: 'new' })).toMatchObject({ error: 'log-unwritable' });
    expect(events('WORK_QUEUED')).toEqual([]);

    free();
    await settleTime(1_000); // the probe write succeeds
    expect(registry.health()).toMatchObject({ writable: true, error: null });
    expect(registry.stats()).toMatchObject({ frozen: 0, refusedLogUnwritable: 3 });
    // The client retries what was refused; it is processed exactly once.
    expect(await registry.enqueue(A, { kind: 'observation', prompt: 'edit', toolUseId: 'toolu_1' })).toMatchObject({ status: 'queued' });
    await settleTime();
    expect(agent.calls).toHaveLength(2);
    agent.pending()[0]!.resolve('noted');
    await settleTime();
    expect(events('WORK_QUEUED').map((payload) => payload.item?.id)).toEqual(['toolu_1']);
    expect(events('xstate.done.actor.agent')).toHaveLength(2);
    expect(registry.get(A)).toMatchObject({ lifecycle: 'idle', historyLength: 4, counters: { queued: 2, processed: 2 } });
  });

  it('does not keep a reply whose commit failed: the item is answered again once the log can be written, and enters history once', async () => {
    const { agent, registry, events, fill, free, settleTime } = setup();
    await registry.init(A, { prompt: 'hello' });
    await settleTime();
    fill();
    agent.pending()[0]!.resolve('lost reply');
    await settleTime();
    expect(registry.get(A)).toMatchObject({ state: 'active.processing', historyLength: 1 });
    expect(events('xstate.done.actor.agent')).toEqual([]);

    free();
    await settleTime(1_000);
    await settleTime();
    expect(agent.calls).toHaveLength(2); // the same item, asked again
    expect(agent.calls[1]!.request.item.id).toBe(agent.calls[0]!.request.item.id);
    agent.pending()[0]!.resolve('kept reply');
    await settleTime();
    const view = registry.get(A)!;
    expect(view).toMatchObject({ lifecycle: 'idle', historyLength: 2, counters: { processed: 1 } });
    expect(events('xstate.done.actor.agent')).toHaveLength(1);
  });

  it('takes a timer’s event up again from the log: a session whose expiry could not be written expires later, and is disposed once', async () => {
    const { agent, registry, disposals, store, fill, free, settleTime } = setup({ idleTtlMs: 10_000, graceMs: 1_000 });
    await registry.init(A, { prompt: 'hello' });
    await settleTime();
    agent.pending()[0]!.resolve('hi');
    await settleTime();
    fill();
    await settleTime(10_000); // the idle deadline: `expiring` cannot be committed
    expect(registry.get(A)).toMatchObject({ lifecycle: 'idle' });
    await settleTime(5_000);
    expect(disposals).toEqual([]);
    free();
    await settleTime(1_000);
    await settleTime(1_000);
    expect(disposals.map((d) => d.reason)).toEqual(['ttl']);
    expect(registry.get(A)).toBeUndefined();
    expect(store.findSession('a')!.status).toBe('disposed');
    await settleTime(60_000);
    expect(disposals).toHaveLength(1);
  });
});
