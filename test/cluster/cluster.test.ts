/**
 * A cluster on one machine: three restate-server nodes on loopback (replicated metadata, logs and
 * partitions) and two session service processes behind one HTTP/2 balancer. Under load, one server
 * node and one service process are killed with SIGKILL; sessions go on, nothing acknowledged is lost.
 *
 * It must hold on a loaded machine (the whole suite on two busy cores, beside an editor): every wait
 * here lasts as long as the cluster makes progress and fails only once nothing has moved for
 * STALL_MS (`waitFor` with `progress`), and the test's own timeout is only a backstop far beyond that.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRestateEngine, registerSessionService } from '../../src/cluster/index.js';
import type { SessionEngine, SessionView } from '../../src/index.js';
import { freePort } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import { startBalancer } from './support/balancer.js';
import { expectAnsweredOnce, liveContext } from './support/cluster.js';
import { type RestateNode, startRestateCluster } from './support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from './support/service-process.js';

const SESSIONS = 12;
const OBSERVATIONS = 4;
/** How long nothing may move (no call acknowledged, no item answered) before the cluster counts as stuck. */
const STALL_MS = 60_000;

describe('three restate-server nodes, two service processes', () => {
  let cluster: Awaited<ReturnType<typeof startRestateCluster>>;
  const services: ServiceProcess[] = [];
  let balancer: Awaited<ReturnType<typeof startBalancer>>;
  const dead = new Set<RestateNode>();

  beforeAll(async () => {
    cluster = await startRestateCluster(3, 2);
    // Answered observations stay whole in the history (no digests), where expectAnsweredOnce finds each once;
    // observations are asked at once (no gather window): this is about crashes, not about batching.
    const env = {
      CLAUDE_MEM_PROVIDER: 'local',
      CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '4',
      CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS: 'false',
      CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0',
    };
    for (let i = 0; i < 2; i++) services.push(await startServiceProcess(await freePort(), env));
    balancer = await startBalancer(services.map((service) => service.url));
    await registerSessionService(cluster.nodes[0]!.adminUrl, balancer.url);
  }, 300_000);
  afterAll(async () => {
    try {
      for (const service of services) await service.kill();
      await balancer?.close();
    } finally {
      await cluster?.stop();
    }
  });

  /** When any hook call was last acknowledged: the calls' progress, shared by all sessions. */
  let lastAckAt = Date.now();

  /**
   * One hook call through any live node's ingress, retried on another while a node is down or failing
   * over, for as long as other calls still get through; it gives up once none has for STALL_MS.
   */
  async function call<T extends { ok: boolean }>(send: (engine: SessionEngine) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const live = cluster.nodes.filter((node) => !dead.has(node));
      const node = live[attempt % live.length]!;
      const engine = connectRestateEngine({ ingressUrl: node.ingressUrl });
      try {
        const answer = await send(engine);
        // A node out of reach is a refusal (`engine-unavailable`): the hook would retry, here through another node.
        if (answer.ok || (answer as { error?: string }).error !== 'engine-unavailable') {
          lastAckAt = Date.now();
          return answer;
        }
        if (Date.now() - lastAckAt > STALL_MS) throw new Error(`no call got through for ${STALL_MS} ms`);
      } catch (error) {
        if (Date.now() - lastAckAt > STALL_MS) throw error;
      } finally {
        await engine.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 250)); // a retry's backoff, as a hook client's
    }
  }

  it('keeps every acknowledged item when a server node and a service process die under load', async () => {
    const acknowledged = new Map<string, string[]>();
    let acks = 0;
    const total = SESSIONS * (OBSERVATIONS + 1);
    let killed = false;
    const killSome = async () => {
      if (killed || acks < total / 3) return;
      killed = true;
      const victim = cluster.nodes[2]!;
      dead.add(victim);
      await Promise.all([victim.kill(), services[0]!.kill()]);
    };

    const runSession = async (index: number) => {
      const contentSessionId = `cluster-${index}`;
      const prompts: string[] = [];
      acknowledged.set(contentSessionId, prompts);
      const init = await call((client) =>
        client.init({ contentSessionId, project: 'cluster' }, { prompt: `prompt of ${contentSessionId}`, promptNumber: 1 }),
      );
      expect(init.ok).toBe(true);
      prompts.push(`prompt of ${contentSessionId}`);
      acks++;
      for (let k = 0; k < OBSERVATIONS; k++) {
        const prompt = `observation ${k} of ${contentSessionId}`;
        // The tool_use_id makes a retried hook call idempotent: the machine queues it once.
        const queued = await call((client) =>
          client.enqueue({ contentSessionId }, { kind: 'observation', prompt, toolUseId: `${index}-${k}` }),
        );
        expect(queued.ok).toBe(true);
        prompts.push(prompt);
        acks++;
        await killSome();
      }
    };
    await Promise.all(Array.from({ length: SESSIONS }, (_, index) => runSession(index)));
    expect(killed).toBe(true);
    expect(acks).toBe(total);

    const survivor = connectRestateEngine({ ingressUrl: cluster.nodes[0]!.ingressUrl });
    const ids = new Map<string, number>();
    for (const contentSessionId of acknowledged.keys())
      ids.set(contentSessionId, (await survivor.identity({ contentSessionId }))!.sessionDbId);
    // Every session idle, waiting as long as any of them still moves (states, items answered, queues).
    let views: (SessionView | undefined)[] = [];
    await waitFor(
      async () => {
        views = await Promise.all([...ids.values()].map((sessionDbId) => survivor.get({ sessionDbId })));
        return views.every((view) => view?.state === 'idle');
      },
      {
        progress: () => views.map((view) => [view?.state, view?.queueLength, view?.counters.processed]),
        stallMs: STALL_MS,
        everyMs: 100,
        what: () => `every session idle (${views.map((view, i) => `${[...ids.keys()][i]}: ${view?.state}`).join(', ')})`,
      },
    );
    for (const [contentSessionId, prompts] of acknowledged) {
      expectAnsweredOnce(await liveContext(survivor, ids.get(contentSessionId)!), prompts);
    }
    // Both processes served before the kill; the survivor served the rest.
    expect([...balancer.served.values()].every((count) => count > 0)).toBe(true);
    let inUse = -1;
    await waitFor(
      async () => {
        inUse = (await survivor.stats()).slots.inUse;
        return inUse === 0;
      },
      { progress: () => inUse, stallMs: STALL_MS, everyMs: 100, what: () => `every slot released (${inUse} in use)` },
    );
    await survivor.close();
    // A backstop only: the waits above fail once nothing has moved for STALL_MS.
  }, 1_200_000);
});
