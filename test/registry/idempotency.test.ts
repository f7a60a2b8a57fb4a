/**
 * Retries are idempotent for the session's whole life: a repeated tool_use_id queues nothing, however
 * many items came in between, across restarts and across a disposal and revival; a repeated prompt
 * number is only activity. On the real SQLite log, reopened as a restarted worker would.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventStore, SessionRegistry } from '../../src/index.js';
import { delayedAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';
import { advance } from '../support/time.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();
const A = { contentSessionId: 'a', project: 'p' };
const harness = useRegistry({ agent: delayedAgent(1), idleTtlMs: 60_000, graceMs: 1_000 });

function start(path: string) {
  const registry = harness.start({ store: harness.sqlite(path) });
  return { registry, store: harness.store! };
}

async function restart() {
  const { registry, store } = await harness.restart();
  return { registry, store: store! };
}

const observe = (registry: SessionRegistry, toolUseId: string) =>
  registry.enqueue(A, { kind: 'observation', prompt: `did ${toolUseId}`, toolUseId });

function queuedIds(store: EventStore): string[] {
  return store
    .readEvents(store.findSession('a')!.sessionDbId)
    .filter((event) => event.type === 'WORK_QUEUED')
    .map((event) => (event.payload as { item: { id: string } }).item.id);
}

describe('idempotent retries', () => {
  it('a repeated tool_use_id queues nothing after 100 other items, across a restart, and after a disposal and revival', async () => {
    const path = join(tempDir(), 'session-events.db');
    let { registry, store } = start(path);
    await registry.init(A, { prompt: 'hello' });
    expect(await observe(registry, 'toolu_first')).toMatchObject({ ok: true, status: 'queued' });
    for (let n = 0; n < 100; n++) await observe(registry, `toolu_${n}`);
    await advance(500);
    expect(await observe(registry, 'toolu_first')).toMatchObject({ ok: true, status: 'duplicate' });

    ({ registry, store } = await restart());
    expect(await observe(registry, 'toolu_first')).toMatchObject({ ok: true, status: 'duplicate' });
    expect(await observe(registry, 'toolu_42')).toMatchObject({ ok: true, status: 'duplicate' });

    // Disposed (TTL), then the same content session comes back: still the same session's life.
    await advance(62_000, 1_000);
    expect(registry.get(A)).toBeUndefined();
    expect(await observe(registry, 'toolu_first')).toMatchObject({ ok: true, status: 'duplicate' });
    expect(registry.get(A)).toBeUndefined(); // a retry revives nothing
    expect(await observe(registry, 'toolu_new')).toMatchObject({ ok: true, status: 'queued' });
    await advance(100);

    const ids = queuedIds(store);
    expect(ids.filter((id) => id === 'toolu_first')).toHaveLength(1);
    expect(ids).toHaveLength(102);
    expect(registry.get(A)).toMatchObject({ lifecycle: 'idle', counters: { queued: 1, processed: 1 } });
  });

  it('a repeated prompt number is only activity, across a restart', async () => {
    const path = join(tempDir(), 'session-events.db');
    let { registry, store } = start(path);
    expect(await registry.init(A, { prompt: 'first', promptNumber: 1 })).toMatchObject({ ok: true, promptNumber: 1 });
    await advance(100);
    ({ registry, store } = await restart());
    expect(await registry.init(A, { prompt: 'first again', promptNumber: 1 })).toMatchObject({ ok: true, promptNumber: 1 });
    await advance(100);
    const prompts = store.readEvents(store.findSession('a')!.sessionDbId).filter((event) => event.type === 'xstate.done.actor.agent');
    expect(prompts).toHaveLength(1);
    expect(registry.get(A)).toMatchObject({ promptNumber: 1, historyLength: 2, counters: { queued: 1 } });
    expect(await registry.init(A, { prompt: 'second', promptNumber: 2 })).toMatchObject({ ok: true, promptNumber: 2 });
    await advance(100);
    expect(registry.get(A)).toMatchObject({ promptNumber: 2, historyLength: 4 });
  });
});
