/**
 * The session engine on a real restate-server (started from the npm package, loopback, temp data
 * dir), with this process's session service registered through the admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionRegistry, initPrompt, observationPrompt, summaryPrompt } from '../../src/index.js';
import { holdingAgent } from './support/agents.js';
import { contextRecorder, disposedTimeline, startEngine, until, waitForState } from './support/cluster.js';

const PROJECT = 'demo';
const hooks = {
  // HOLD: the holding agent keeps this call until the test answers it.
  init: initPrompt(PROJECT, 'HOLD Fix the login bug', 1),
  reads: observationPrompt({
    toolName: 'Read',
    toolInput: '{"file_path":"src/auth.ts"}',
    toolResponse: 'export function login() {}',
    cwd: '/repo',
    at: 1_700_000_000_000,
  }),
  edits: observationPrompt({
    toolName: 'Edit',
    toolInput: '{"file_path":"src/auth.ts"}',
    toolResponse: '{"ok":true}',
    cwd: '/repo',
    at: 1_700_000_001_000,
  }),
  summary: summaryPrompt('Fixed the login bug by checking the token expiry.'),
};

describe('session engine on Restate', () => {
  const agent = holdingAgent();
  let engine: Awaited<ReturnType<typeof startEngine>>;

  beforeAll(async () => {
    engine = await startEngine({ agent: agent.agent, maxConcurrentAgents: 1, idleTtlMs: 60_000, graceMs: 1_000 });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it("runs claude-mem's hook sequence to the same history and batches as the embedded registry, then completes", async () => {
    const { client } = engine;
    const target = { contentSessionId: 'hooks-1', project: PROJECT };
    // The init prompt's call is held until the hooks have queued everything: both engines then form the
    // same batches (the two observations in one call, the summary alone), whatever the machine's speed.
    const hooksSequence = async (
      send: {
        init(): Promise<{ ok: boolean; sessionDbId?: number }>;
        enqueue(work: { kind: 'observation' | 'summarize'; prompt: string; toolUseId?: string }): Promise<unknown>;
      },
      sessionDbIdOf: () => number,
    ) => {
      const answers = [await send.init()];
      answers.push(
        (await send.enqueue({ kind: 'observation', prompt: hooks.reads, toolUseId: 'tu-1' })) as never,
        (await send.enqueue({ kind: 'observation', prompt: hooks.edits, toolUseId: 'tu-2' })) as never,
        // A hook's retry with the same tool_use_id is not new work.
        (await send.enqueue({ kind: 'observation', prompt: hooks.edits, toolUseId: 'tu-2' })) as never,
        (await send.enqueue({ kind: 'summarize', prompt: hooks.summary })) as never,
      );
      await until(
        () => agent.pending(sessionDbIdOf()).length === 1,
        10_000,
        () => 'the held init call',
      );
      agent.pending(sessionDbIdOf())[0]!.answer();
      return answers;
    };
    let sessionDbId = -1;
    const answers = await hooksSequence(
      {
        init: async () => {
          const init = await client.init(target, { prompt: hooks.init, promptNumber: 1 });
          expect(init).toMatchObject({ ok: true, promptNumber: 1, created: true });
          if (init.ok) sessionDbId = init.sessionDbId;
          return init;
        },
        enqueue: (work) => client.enqueue(target, work),
      },
      () => sessionDbId,
    );
    expect(answers.slice(1)).toMatchObject([{ status: 'queued' }, { status: 'queued' }, { status: 'duplicate' }, { status: 'queued' }]);
    await waitForState(client, sessionDbId, 'idle');
    const onRestate = (await client.state(sessionDbId))!.context;
    const callSizes = (from: number) => agent.calls.slice(from).map(({ request }) => request.items.length);
    const restateCalls = callSizes(0);
    const embeddedFrom = agent.calls.length;

    // The same hooks through the embedded registry, with the same agent.
    const recorder = contextRecorder();
    const registry = createSessionRegistry({ agent: agent.agent, memoryPressure: false, inspect: recorder.inspect });
    try {
      let embeddedId = -2;
      await hooksSequence(
        {
          init: async () => {
            const init = await registry.init(target, { prompt: hooks.init, promptNumber: 1 });
            if (init.ok) embeddedId = init.sessionDbId;
            return init;
          },
          enqueue: (work) => registry.enqueue(target, work),
        },
        () => embeddedId,
      );
      await until(
        () => registry.get(target)?.state === 'idle',
        5_000,
        () => 'embedded session idle',
      );
      const local = recorder.contexts.get(embeddedId)!;
      expect(onRestate.history).toEqual(local.history);
      expect(onRestate.counters).toEqual(local.counters);
      expect(restateCalls).toEqual(callSizes(embeddedFrom));
    } finally {
      await registry.shutdown();
    }

    // The prompt, then one call for both observations, then the summary alone.
    expect(restateCalls).toEqual([1, 2, 1]);
    expect(onRestate.history.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(onRestate.history[0]).toMatchObject({ content: hooks.init, pinned: true });
    expect(onRestate.history[2]!.content).toBe(`${hooks.reads}\n\n${hooks.edits}`);
    expect(onRestate.history[3]!.content).toContain('<title>Read src/auth.ts</title>');
    expect(onRestate.history[3]!.content).toContain('<title>Edit src/auth.ts</title>');
    expect(onRestate.history[4]!.content).toBe(hooks.summary);
    expect(onRestate.counters).toMatchObject({ queued: 4, processed: 4, failed: 0, messagesAppended: 6 });

    expect(await client.complete(target)).toEqual({ ok: true, sessionDbId });
    await waitForState(client, sessionDbId, 'disposed');
    expect(await client.state(sessionDbId)).toBeNull();
    const timeline = await disposedTimeline(client, sessionDbId);
    expect(timeline.identity).toMatchObject({
      sessionDbId,
      contentSessionId: 'hooks-1',
      disposal: { reason: 'completed', droppedItems: 0 },
    });
    expect(timeline.entries.filter((entry) => entry.type === 'xstate.done.actor.agent')).toHaveLength(3);
    expect(timeline.entries.at(-1)).toMatchObject({ type: 'COMPLETE', state: 'disposed' });
    expect(await client.complete(target)).toEqual({ ok: false, error: 'not-found' });
  });

  it('aborts the in-flight agent call on DELETE and never applies its answer', async () => {
    const { client } = engine;
    const target = { contentSessionId: 'delete-1', project: PROJECT };
    const init = await client.init(target, { prompt: 'HOLD: a long model call' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await client.enqueue(target, { kind: 'observation', prompt: 'queued behind it' });
    await until(
      () => agent.pending(sessionDbId).length === 1,
      10_000,
      () => 'agent call in flight',
    );
    const call = agent.pending(sessionDbId)[0]!;
    expect(await client.delete({ sessionDbId })).toEqual({ ok: true, sessionDbId });

    await until(
      () => call.signal.aborted,
      10_000,
      () => 'the agent call observed its abort',
    );
    expect(call.outcome).toBe('aborted');
    call.answer('too late'); // no effect: the call has already settled as aborted
    expect(await client.get(sessionDbId)).toBeNull();
    const timeline = await disposedTimeline(client, sessionDbId);
    expect(timeline.identity.disposal).toMatchObject({ reason: 'deleted', droppedItems: 2 });
    expect(timeline.entries.some((entry) => entry.type.startsWith('xstate.done.actor'))).toBe(false);
    await until(
      async () => (await client.slots()).inUse === 0,
      10_000,
      () => 'the slot released',
    );
  });

  it('bounds agent calls across sessions with one FIFO slot, released on every exit', async () => {
    const { client } = engine;
    const ids: number[] = [];
    for (const name of ['fifo-a', 'fifo-b', 'fifo-c']) {
      const init = await client.init({ contentSessionId: name, project: PROJECT }, { prompt: `HOLD ${name}` });
      ids.push(init.ok ? init.sessionDbId : -1);
    }
    const order: number[] = [];
    for (let round = 0; round < 3; round++) {
      await until(
        () => agent.pending().length === 1,
        10_000,
        () => `one call in flight in round ${round}`,
      );
      const [call] = agent.pending();
      order.push(call!.request.sessionDbId);
      expect((await client.slots()).waiting + (await client.slots()).inUse).toBeLessThanOrEqual(3);
      if (round === 1) {
        await client.delete({ sessionDbId: call!.request.sessionDbId });
        await until(
          () => call!.outcome === 'aborted',
          10_000,
          () => "the deleted session's call aborted",
        );
      } else call!.answer();
    }
    expect(order).toEqual(ids);
    expect(agent.maxInFlight).toBe(1);
    await until(
      async () => (await client.slots()).inUse === 0,
      10_000,
      () => 'every slot released',
    );
  });
});

describe('idle TTL on Restate', () => {
  const agent = holdingAgent();
  let engine: Awaited<ReturnType<typeof startEngine>>;
  const TTL = 2_000;
  const GRACE = 1_000;

  beforeAll(async () => {
    engine = await startEngine({ agent: agent.agent, idleTtlMs: TTL, graceMs: GRACE, agentTimeoutMs: 1_000, backoffBaseMs: 60_000 });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('goes idle → expiring → disposed with reason ttl, at the deadlines in its context', async () => {
    const { client } = engine;
    const init = await client.init({ contentSessionId: 'ttl-1', project: PROJECT }, { prompt: 'a short prompt' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await waitForState(client, sessionDbId, 'idle');
    const idle = (await client.get(sessionDbId))!;
    expect(idle.idleDeadline).toBe(idle.lastActivityAt + TTL);
    const expiringSeenAt = await waitForState(client, sessionDbId, 'expiring', TTL + 5_000);
    expect(expiringSeenAt).toBeGreaterThanOrEqual(idle.idleDeadline!);
    const expiring = (await client.get(sessionDbId))!;
    expect(expiring.graceDeadline).toBe(idle.idleDeadline! + GRACE);
    await waitForState(client, sessionDbId, 'disposed', GRACE + 5_000);

    const timeline = await disposedTimeline(client, sessionDbId);
    expect(timeline.identity.disposal).toEqual({ reason: 'ttl', at: idle.idleDeadline! + GRACE, droppedItems: 0 });
    const timers = timeline.entries.filter((entry) => entry.type.startsWith('xstate.after.'));
    expect(timers.map((entry) => [entry.type, entry.at, entry.state])).toEqual([
      ['xstate.after.idleDeadline.session.idle', idle.idleDeadline, 'expiring'],
      ['xstate.after.graceDeadline.session.expiring', idle.idleDeadline! + GRACE, 'disposed'],
    ]);
    expect(await client.state(sessionDbId)).toBeNull();
  });

  it('times out a silent agent: the call is aborted, the slot freed, the item backs off', async () => {
    const { client } = engine;
    const init = await client.init({ contentSessionId: 'timeout-1', project: PROJECT }, { prompt: 'HOLD forever' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await until(
      () => agent.pending(sessionDbId).length === 1,
      10_000,
      () => 'agent call in flight',
    );
    const call = agent.pending(sessionDbId)[0]!;
    await waitForState(client, sessionDbId, 'active.backoff', 10_000);
    await until(
      () => call.outcome === 'aborted',
      5_000,
      () => 'the timed-out call observed its abort',
    );
    const view = (await client.get(sessionDbId))!;
    expect(view.lastFailure).toMatchObject({ kind: 'timeout' });
    expect(view.attempt).toBe(1);
    await until(
      async () => (await client.slots()).inUse === 0,
      10_000,
      () => 'the slot released',
    );
    await client.delete({ sessionDbId });
  });
});

describe('retention on Restate', () => {
  const agent = holdingAgent();
  let engine: Awaited<ReturnType<typeof startEngine>>;

  beforeAll(async () => {
    // Long enough for the checks within it on a loaded machine, short enough for a test.
    engine = await startEngine({ agent: agent.agent, retentionMs: 3_000 });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it("forgets a disposed session's events and work keys after the retention period; its identity keeps a summary", async () => {
    const { client } = engine;
    const target = { contentSessionId: 'retained-1', project: PROJECT };
    const init = await client.init(target, { prompt: 'a prompt' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await client.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' });
    await waitForState(client, sessionDbId, 'idle');
    // Within the retention period, a retry of known work neither queues nor revives.
    await client.delete({ sessionDbId });
    const disposed = await disposedTimeline(client, sessionDbId);
    expect(disposed.identity).toMatchObject({ status: 'disposed', disposal: { reason: 'deleted' }, lastPromptNumber: 1 });
    expect(await client.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' })).toMatchObject({
      ok: true,
      status: 'duplicate',
    });
    expect(await client.get(sessionDbId)).toBeNull();

    let identity = await client.identity(sessionDbId);
    await until(
      async () => {
        identity = await client.identity(sessionDbId);
        return identity?.status === 'compacted';
      },
      10_000,
      () => `session ${sessionDbId} forgotten (last seen ${identity?.status})`,
    );
    expect(identity).toMatchObject({
      contentSessionId: 'retained-1',
      lastPromptNumber: 1,
      summary: { reason: 'deleted', processed: 2, failed: 0, events: disposed.identity.lastSeq },
    });
    expect((await client.timeline(sessionDbId)).entries).toEqual([]);
    // Forgotten work is new work again (as after the embedded log's compaction), in a new incarnation with the same id.
    const again = await client.enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-kept' });
    expect(again).toMatchObject({ ok: true, status: 'queued', sessionDbId });
    await waitForState(client, sessionDbId, 'idle');
    expect((await client.get(sessionDbId))!.promptNumber).toBe(1);
    await client.delete({ sessionDbId });
  });
});
