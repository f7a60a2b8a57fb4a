/**
 * Crashes: `kill -9` of the session service process during an agent call, and of restate-server
 * itself (restarted on the same data directory). The service runs as its own process with the
 * openai-compatible provider pointed at a loopback model server, which counts every model call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_TIMER_EVENT } from '../../machines/session.states.js';
import { connectRestateEngine, registerSessionService } from '../../src/cluster/index.js';
import type { SessionEngine } from '../../src/index.js';
import { freePort } from '../support/process.js';
import { waitFor, waitForState } from '../support/wait.js';
import { expectAnsweredOnce, liveContext } from './support/cluster.js';
import { startModelServer } from './support/model-server.js';
import { startRestate } from './support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from './support/service-process.js';

const TTL_MS = 5_000;

describe('crashes on Restate', () => {
  let restate: Awaited<ReturnType<typeof startRestate>>;
  let model: Awaited<ReturnType<typeof startModelServer>>;
  let service: ServiceProcess | undefined;
  let servicePort: number;
  let env: Record<string, string>;
  let client: SessionEngine;

  beforeAll(async () => {
    model = await startModelServer();
    restate = await startRestate();
    servicePort = await freePort();
    env = {
      CLAUDE_MEM_PROVIDER: 'openai-compatible',
      CLAUDE_MEM_OPENAI_BASE_URL: model.baseUrl,
      CLAUDE_MEM_MODEL: 'loopback-model',
      CLAUDE_MEM_SESSION_TTL_MINUTES: String(TTL_MS / 60_000),
      CLAUDE_MEM_SESSION_GRACE_SECONDS: '1',
      CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '2',
      // Answered observations stay whole in the history (no digests), where expectAnsweredOnce finds each once;
      // an observation is asked at once (no gather window), so the busy session is done well within the idle one's TTL.
      CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS: 'false',
      CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0',
    };
    service = await startServiceProcess(servicePort, env);
    await registerSessionService(restate.node().adminUrl, service.url);
    client = connectRestateEngine({ ingressUrl: restate.node().ingressUrl });
  });
  afterAll(async () => {
    try {
      await client?.close();
      await service?.kill();
    } finally {
      await restate?.stop();
      await model?.close();
    }
  });

  it('kill -9 of the service process during an agent call: the call is retried, every item answered once', async () => {
    model.hold();
    const target = { contentSessionId: 'crash-service', project: 'p' };
    const prompts = ['HOLD the first prompt', 'observation one', 'observation two'];
    const init = await client.init(target, { prompt: prompts[0]! });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    for (const prompt of prompts.slice(1))
      expect(await client.enqueue(target, { kind: 'observation', prompt })).toMatchObject({ ok: true });
    await waitFor(() => model.held().length === 1, { what: 'the model call in flight' });

    await service!.kill();
    await waitFor(() => model.requests[0]!.aborted, { what: 'the dead process dropped its model call', timeoutMs: 5_000 });
    service = await startServiceProcess(servicePort, env);
    // Restate retries the agent invocation on the new process: the model is asked again, and answers.
    await waitFor(() => model.count(prompts[0]!) === 2, { what: 'the agent call retried', timeoutMs: 20_000 });
    model.release();
    await waitForState(client, sessionDbId, 'idle', { timeoutMs: 20_000 });

    expectAnsweredOnce(await liveContext(client, sessionDbId), prompts, (prompt) => `reply to: ${prompt}`);
    expect(prompts.map((prompt) => model.count(prompt))).toEqual([2, 1, 1]);
    await waitFor(async () => (await client.stats()).slots.inUse === 0, { what: 'every slot released' });
  });

  it('kill -9 of restate-server: after a restart on the same data every item is answered once and deadlines keep their time', async () => {
    model.hold();
    const idleOne = await client.init({ contentSessionId: 'crash-server-idle', project: 'p' }, { prompt: 'quick one' });
    const idleId = idleOne.ok ? idleOne.sessionDbId : -1;
    await waitForState(client, idleId, 'idle');
    const { idleDeadline } = (await client.get({ sessionDbId: idleId }))!;

    const target = { contentSessionId: 'crash-server-busy', project: 'p' };
    const prompts = ['HOLD across the crash', 'observation after it'];
    const busy = await client.init(target, { prompt: prompts[0]! });
    const busyId = busy.ok ? busy.sessionDbId : -1;
    expect(await client.enqueue(target, { kind: 'observation', prompt: prompts[1]! })).toMatchObject({ ok: true });
    await waitFor(() => model.held().length === 1, { what: 'the model call in flight' });
    const inFlight = model.held()[0]!;

    await restate.node().kill();
    // The service process saw its server go: the attempt ended, and its model call with it.
    await waitFor(() => inFlight.aborted, { what: 'the model call of the attempt cut by the crash aborted', timeoutMs: 5_000 });
    await restate.restart();
    model.release();
    await waitForState(client, busyId, 'idle', { timeoutMs: 30_000 });
    expectAnsweredOnce(await liveContext(client, busyId), prompts, (prompt) => `reply to: ${prompt}`);
    expect(model.count(prompts[1]!)).toBe(1);

    // The idle session's timer survived the crash: it fires at its original deadline, not TTL after the restart.
    const expiringSeenAt = await waitForState(client, idleId, 'expiring', { timeoutMs: TTL_MS + 10_000 });
    expect(expiringSeenAt).toBeGreaterThanOrEqual(idleDeadline!);
    expect(expiringSeenAt).toBeLessThan(idleDeadline! + 2_500);
    const { timeline } = (await client.inspect(idleId))!;
    expect(timeline.entries.find((entry) => entry.type === IDLE_TIMER_EVENT)?.at).toBe(idleDeadline);
  });
});
