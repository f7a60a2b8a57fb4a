/**
 * The model-based paths (test/model/session.model.ts) replayed through Restate and through the embedded
 * registry side by side, in real (short) time: after every step both engines must be in the state the
 * model says, with the same queue. One path per distinct last transition (state, event) of the model's
 * shortest paths, restricted to what a Restate cluster has (no capacity or memory eviction, no worker
 * restart: those belong to the embedded registry), all paths at once, each on its own session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import { AgentError, createSessionRegistry, type SessionRegistry } from '../../src/index.js';
import { MODEL_MAX_ATTEMPTS, MODEL_MAX_BATCH, MODEL_MAX_QUEUE, type ModelContext, sessionModel } from '../model/session.model.js';
import { holdingAgent } from './support/agents.js';
import { disposedTimeline, startEngine, until } from './support/cluster.js';

const SETTINGS = {
  idleTtlMs: 1_500,
  // Long enough that a step after TTL_ELAPSED reaches both engines before the grace ends, even on a loaded machine.
  graceMs: 2_000,
  maxAttempts: MODEL_MAX_ATTEMPTS,
  // Long enough that a poll sees `backoff` and `paused` even on a loaded 2-core CI machine.
  backoffBaseMs: 1_500,
  pauseMs: 1_500,
  agentTimeoutMs: 60_000,
  maxQueuedItems: MODEL_MAX_QUEUE,
  maxBatchItems: MODEL_MAX_BATCH,
  // Longer than the backoffs and pauses a path lets pass with work queued, so queued work is never too old
  // to gather; short enough that a step after GATHER_ELAPSED sees the batch closed within its wait.
  batchWindowMs: 10_000,
  batchQuietMs: 5_000,
  maxConcurrentAgents: 64,
};
const SUPPORTED = new Set([
  'INIT',
  'PROMPT_REPEATED',
  'WORK',
  'TOUCH',
  'COMPLETE',
  'DELETE',
  'AGENT_REPLY',
  'AGENT_FAILS',
  'AGENT_FATAL',
  'AGENT_REFUSES',
  'RETRY_ELAPSED',
  'TTL_ELAPSED',
  'GRACE_ELAPSED',
  'GATHER_ELAPSED',
]);
const REASONS: Record<string, string> = { ttl: 'ttl', completed: 'completed', deleted: 'deleted' };

type Path = {
  readonly steps: readonly { readonly event: { type: string }; readonly state: { value: unknown; context: ModelContext } }[];
};

function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value as object)[0]!;
  return `${parent}.${stateName(child)}`;
}

/** One path per distinct last transition, the shortest that ends with it. */
function selectPaths(): Path[] {
  const byLastTransition = new Map<string, Path>();
  for (const path of createTestModel(sessionModel).getShortestPaths({ allowDuplicatePaths: true }) as unknown as Path[]) {
    const events = path.steps.slice(1).map((step) => step.event.type);
    if (events.length === 0 || !events.every((type) => SUPPORTED.has(type))) continue;
    const before = path.steps.at(-2)!.state.value;
    const key = `${stateName(before)} ${events.at(-1)}`;
    const known = byLastTransition.get(key);
    if (known === undefined || known.steps.length > path.steps.length) byLastTransition.set(key, path);
  }
  return [...byLastTransition.values()];
}

describe('model paths through Restate and the embedded registry', () => {
  const onRestate = holdingAgent();
  const embedded = holdingAgent();
  let engine: Awaited<ReturnType<typeof startEngine>>;
  let registry: SessionRegistry;
  const disposals = new Map<string, string>();

  beforeAll(async () => {
    engine = await startEngine({ agent: onRestate.agent, ...SETTINGS });
    registry = createSessionRegistry({ agent: embedded.agent, ...SETTINGS, memoryPressure: false, hibernateAfterMs: false });
    registry.on('disposed', (disposal) => disposals.set(disposal.contentSessionId, disposal.reason));
  });
  afterAll(async () => {
    await registry?.shutdown();
    await engine?.stop();
  });

  const paths = selectPaths();

  it(`replays ${paths.length} paths to the same states on both engines`, async () => {
    expect(paths.length).toBeGreaterThanOrEqual(20);
    await Promise.all(paths.map((path, index) => replay(path, `path-${index}`)));
  }, 120_000);

  async function replay(path: Path, contentSessionId: string): Promise<void> {
    const target = { contentSessionId, project: 'model' };
    let restateId = -1;
    let works = 0;
    const describeStep = (i: number) => `${contentSessionId} step ${i}: ${path.steps.map((step) => step.event.type).join(' → ')}`;
    for (let i = 1; i < path.steps.length; i++) {
      const { event, state } = path.steps[i]!;
      const settle = async (
        agent: ReturnType<typeof holdingAgent>,
        sessionDbId: () => number | undefined,
        act: (call: { answer(): void; fail(e: unknown): void }) => void,
      ) => {
        await until(
          () => agent.pending(sessionDbId()).length === 1,
          10_000,
          () => `${describeStep(i)}: agent call`,
        );
        act(agent.pending(sessionDbId())[0]!);
      };
      const agentStep = async (act: (call: { answer(): void; fail(e: unknown): void }) => void) => {
        await Promise.all([settle(onRestate, () => restateId, act), settle(embedded, () => registry.get(target)?.sessionDbId ?? -2, act)]);
      };
      switch (event.type) {
        case 'INIT': {
          const [result] = await Promise.all([
            engine.client.init(target, { prompt: 'HOLD a prompt' }),
            registry.init(target, { prompt: 'HOLD a prompt' }),
          ]);
          if (result.ok) restateId = result.sessionDbId;
          break;
        }
        case 'PROMPT_REPEATED': {
          const promptNumber = (await engine.client.get(restateId))!.promptNumber;
          await Promise.all([
            engine.client.init({ sessionDbId: restateId }, { prompt: 'HOLD a prompt', promptNumber }),
            registry.init(target, { prompt: 'HOLD a prompt', promptNumber }),
          ]);
          break;
        }
        case 'WORK': {
          const work = { kind: 'observation' as const, prompt: `HOLD work ${++works}` };
          await Promise.all([engine.client.enqueue(target, work), registry.enqueue(target, work)]);
          break;
        }
        case 'TOUCH':
        case 'COMPLETE':
        case 'DELETE': {
          const name = event.type.toLowerCase() as 'touch' | 'complete' | 'delete';
          await Promise.all([engine.client[name]({ sessionDbId: restateId }), registry[name](target)]);
          break;
        }
        case 'AGENT_REPLY':
          await agentStep((call) => call.answer());
          break;
        case 'AGENT_FAILS':
          await agentStep((call) => call.fail(new Error('ECONNRESET')));
          break;
        case 'AGENT_FATAL':
          await agentStep((call) => call.fail(new AgentError('fatal', '400 bad request')));
          break;
        case 'AGENT_REFUSES':
          await agentStep((call) => call.fail(new AgentError('paused', '401 unauthorized')));
          break;
        // RETRY_ELAPSED, TTL_ELAPSED, GRACE_ELAPSED, GATHER_ELAPSED: real time passes; the wait below is the step.
      }
      const expected = stateName(state.value);
      if (expected.startsWith('disposed.')) {
        const reason = REASONS[expected.slice('disposed.'.length)];
        await until(
          async () => (await engine.client.get(restateId)) === null && registry.get(target) === undefined,
          10_000,
          () => `${describeStep(i)}: both disposed`,
        );
        expect((await disposedTimeline(engine.client, restateId)).identity.disposal?.reason, describeStep(i)).toBe(reason);
        expect(disposals.get(contentSessionId), describeStep(i)).toBe(reason);
        return;
      }
      let seen: [string | undefined, string | undefined] = [undefined, undefined];
      await until(
        async () => {
          seen = [(await engine.client.get(restateId))?.state, registry.get(target)?.state];
          return seen[0] === expected && seen[1] === expected;
        },
        10_000,
        () => `${describeStep(i)}: expected ${expected} on both, saw restate=${seen[0]} embedded=${seen[1]}`,
      );
      const [restateView, embeddedView] = [(await engine.client.get(restateId))!, registry.get(target)!];
      expect(restateView.queueLength, describeStep(i)).toBe(state.context.queue.length);
      expect(embeddedView.queueLength, describeStep(i)).toBe(state.context.queue.length);
      if (expected === 'active.processing') {
        // The call in flight answers the batch the model expects, on both engines.
        const batch = state.context.queue.slice(0, state.context.batch);
        for (const [agent, id] of [
          [onRestate, restateId],
          [embedded, registry.get(target)!.sessionDbId],
        ] as const) {
          await until(
            () => agent.pending(id).length === 1,
            10_000,
            () => `${describeStep(i)}: the call in flight`,
          );
          expect(
            agent.pending(id)[0]!.request.items.map((item) => item.kind),
            `${describeStep(i)}: the batch`,
          ).toEqual(batch);
        }
      }
      expect(restateView.completing, describeStep(i)).toBe(embeddedView.completing);
      expect(restateView.counters, describeStep(i)).toEqual(embeddedView.counters);
    }
    // Leave nothing behind: a path that ends live is deleted on both engines.
    if (restateId !== -1) await Promise.all([engine.client.delete({ sessionDbId: restateId }), registry.delete(target)]);
  }
});
