/**
 * What only the Restate engine does beyond the contract (test/engine/conformance.ts runs the contract
 * on it): a disposed session's events and work keys forgotten after the retention period, on a real
 * restate-server with this process's session services registered through the admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DurableIdentity } from '../../src/index.js';
import { holdingAgent } from '../support/agents.js';
import { waitForEngine, waitForState } from '../support/wait.js';
import { startEngine } from './support/cluster.js';

describe('retention on Restate', () => {
  const agent = holdingAgent();
  let cluster: Awaited<ReturnType<typeof startEngine>>;

  beforeAll(async () => {
    // Long enough for the checks within it on a loaded machine, short enough for a test.
    cluster = await startEngine({ agent: agent.agent, retentionMs: 3_000 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("forgets a disposed session's events and work keys after the retention period; its identity keeps a summary", async () => {
    const { engine } = cluster;
    const target = { contentSessionId: 'retained-1', project: 'demo' };
    const init = await engine.init(target, { prompt: 'a prompt' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await engine.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' });
    await waitForState(engine, sessionDbId, 'idle');
    // Within the retention period, a retry of known work neither queues nor revives.
    await engine.delete({ sessionDbId });
    let identity: DurableIdentity | undefined;
    await waitForEngine(
      engine,
      async () => {
        identity = await engine.identity({ sessionDbId });
        return identity?.stream.status === 'disposed';
      },
      { what: 'the disposal recorded' },
    );
    const disposed = identity!;
    expect(disposed).toMatchObject({ lastPromptNumber: 1, stream: { disposal: { reason: 'deleted' } } });
    expect(await engine.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' })).toMatchObject({
      ok: true,
      status: 'duplicate',
    });
    expect(await engine.get({ sessionDbId })).toBeUndefined();

    await waitForEngine(
      engine,
      async () => {
        identity = await engine.identity({ sessionDbId });
        return identity?.stream.status === 'compacted';
      },
      { what: () => `session ${sessionDbId} forgotten (last seen ${identity?.stream.status})` },
    );
    expect(identity).toMatchObject({
      contentSessionId: 'retained-1',
      lastPromptNumber: 1,
      stream: { summary: { reason: 'deleted', processed: 2, failed: 0, events: disposed.stream.lastSeq } },
    });
    expect(await engine.events(sessionDbId)).toEqual([]);
    // Forgotten work is new work again (as after the embedded log's compaction), in a new incarnation with the same id.
    const again = await engine.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' });
    expect(again).toMatchObject({ ok: true, status: 'queued', sessionDbId });
    await waitForState(engine, sessionDbId, 'idle');
    expect((await engine.get({ sessionDbId }))!.promptNumber).toBe(1);
    await engine.delete({ sessionDbId });
  });
});
