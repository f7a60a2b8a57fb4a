/**
 * The engine contract's conformance suite: what every engine must do, asked only through `SessionEngine`.
 * Each engine runs it from a file of its own (embedded.test.ts on a real SQLite file; restate.test.ts on
 * a real restate-server), in real, short time, with the same agent (`holdingAgent`: the local agent,
 * except for prompts that contain HOLD, which wait for the test). A new engine is a folder that
 * implements the contract and a file here that opens it and calls `describeEngineContract`.
 *
 * What it checks: claude-mem's hook sequence (batches, history, a retried tool_use_id); the lifecycle and
 * its reasons (`completed`, `deleted`, `ttl`, at the deadlines in context); the agent call aborted on
 * DELETE and on its timeout; the slot bound, first come first served; refusals; idempotency; a private
 * prompt; the events route's pages; and the model's paths (test/model/session.model.ts) through the
 * engine. What only some engines do (capacity, memory pressure, dormancy) is tested where it is built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestModel } from 'xstate/graph';
import { IDLE_TIMER_EVENT } from '../../machines/session.states.js';
import {
  AgentError,
  initPrompt,
  observationPrompt,
  type SessionEngine,
  type SessionOptions,
  type SessionTarget,
  summaryPrompt,
} from '../../src/index.js';
import { MODEL_MAX_ATTEMPTS, MODEL_MAX_BATCH, MODEL_MAX_QUEUE, type ModelContext, sessionModel } from '../model/session.model.js';
import { type HeldCall, holdingAgent } from '../support/agents.js';
import { waitFor, waitForEngine, waitForState } from '../support/wait.js';

/** An engine opened for the suite, started, with its agent and how to close it (and whatever it runs on). */
export interface EngineUnderTest {
  readonly engine: SessionEngine;
  close(): Promise<void>;
}

/** Opens the engine under test with these session options (a fresh engine for each part of the suite). */
export type OpenEngine = (options: SessionOptions) => Promise<EngineUnderTest>;

const PROJECT = 'demo';

/** The part of the suite that needs no short deadline: hooks, refusals, idempotency, the slot bound. */
const CONTRACT = { idleTtlMs: 60_000, graceMs: 1_000, maxConcurrentAgents: 1, maxQueuedItems: 5 } as const;
/** Deadlines a test can wait for: the idle TTL, its grace, and an agent that never answers. */
const DEADLINES = { idleTtlMs: 2_000, graceMs: 1_000, agentTimeoutMs: 1_000, backoffBaseMs: 60_000 } as const;
/** The model's bounds, in real time long enough for a step to reach the engine on a loaded machine. */
const MODEL = {
  idleTtlMs: 1_500,
  graceMs: 2_000,
  maxAttempts: MODEL_MAX_ATTEMPTS,
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
} as const;

/** Opens one engine for a describe block, with the holding agent; closes it after. */
function useEngine(open: OpenEngine, options: Omit<SessionOptions, 'agent'>) {
  const agent = holdingAgent();
  const opened: { current?: EngineUnderTest } = {};
  beforeAll(async () => {
    opened.current = await open({ agent: agent.agent, ...options });
  }, 60_000);
  afterAll(async () => {
    await opened.current?.close();
  });
  const engine = () => opened.current!.engine;
  /** The one call in flight for a session, once it is there. */
  const heldCall = (sessionDbId: number, what = 'the agent call in flight'): Promise<HeldCall> =>
    waitFor(() => agent.pending(sessionDbId)[0], { on: [agent.changes], what: `session ${sessionDbId}: ${what}` });
  return { agent, engine, heldCall };
}

/** The sessionDbId of an accepted command, or a failure naming the refusal. */
function idOf(result: { readonly ok: true; readonly sessionDbId: number } | { readonly ok: false }): number {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result.sessionDbId;
}

const hooks = {
  // HOLD: the init prompt's call is held until the hooks have queued everything.
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

export function describeEngineContract(name: string, open: OpenEngine): void {
  describe(`${name} engine: the contract`, () => {
    const { agent, engine, heldCall } = useEngine(open, CONTRACT);

    it("runs claude-mem's hook sequence: the prompt, then both observations in one batch, the summary alone; a retried tool_use_id queues nothing", async () => {
      const target = { contentSessionId: 'hooks-1', project: PROJECT };
      const from = agent.calls.length;
      const init = await engine().init(target, { prompt: hooks.init, promptNumber: 1 });
      expect(init).toMatchObject({ ok: true, promptNumber: 1, created: true });
      const sessionDbId = idOf(init);
      const answers = [
        await engine().enqueue(target, { kind: 'observation', prompt: hooks.reads, toolUseId: 'tu-1', requirePrompt: true }),
        await engine().enqueue(target, { kind: 'observation', prompt: hooks.edits, toolUseId: 'tu-2', requirePrompt: true }),
        await engine().enqueue(target, { kind: 'observation', prompt: hooks.edits, toolUseId: 'tu-2', requirePrompt: true }),
        await engine().enqueue(target, { kind: 'summarize', prompt: hooks.summary, requirePrompt: true }),
      ];
      expect(answers).toMatchObject([
        { ok: true, status: 'queued', sessionDbId },
        { ok: true, status: 'queued', sessionDbId },
        { ok: true, status: 'duplicate', sessionDbId },
        { ok: true, status: 'queued', sessionDbId },
      ]);
      (await heldCall(sessionDbId)).answer();
      await waitForState(engine(), sessionDbId, 'idle');

      const { context } = (await engine().inspect(sessionDbId))!;
      expect(agent.calls.slice(from).map(({ request }) => request.items.length)).toEqual([1, 2, 1]);
      expect(context!.history.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
      expect(context!.history[0]).toMatchObject({ content: hooks.init, pinned: true });
      expect(context!.history[2]!.content).toBe(`${hooks.reads}\n\n${hooks.edits}`);
      expect(context!.history[3]!.content).toContain('<title>Read src/auth.ts</title>');
      expect(context!.history[4]!.content).toBe(hooks.summary);
      expect(context!.counters).toMatchObject({ queued: 4, processed: 4, failed: 0, messagesAppended: 6 });

      expect(await engine().complete(target)).toEqual({ ok: true, sessionDbId });
      await waitForState(engine(), sessionDbId, 'disposed');
      const identity = await disposedIdentity(engine(), sessionDbId);
      expect(identity).toMatchObject({ contentSessionId: 'hooks-1', lastPromptNumber: 1 });
      expect(identity.stream.disposal).toMatchObject({ reason: 'completed', droppedItems: 0 });
      const events = (await engine().events(sessionDbId))!;
      expect(events.filter((event) => event.type === 'xstate.done.actor.agent')).toHaveLength(3);
      expect(events.at(-1)).toMatchObject({ type: 'COMPLETE' });
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
      expect(await engine().complete(target)).toEqual({ ok: false, error: 'not-found' });
    });

    it('aborts the agent call in flight on DELETE, never applies its answer, and counts the dropped items', async () => {
      const target = { contentSessionId: 'delete-1', project: PROJECT };
      const sessionDbId = idOf(await engine().init(target, { prompt: 'HOLD: a long model call' }));
      await engine().enqueue(target, { kind: 'observation', prompt: 'queued behind it' });
      const call = await heldCall(sessionDbId);
      expect(await engine().delete({ sessionDbId })).toEqual({ ok: true, sessionDbId });
      await waitFor(() => call.signal.aborted, { on: [agent.changes], what: 'the agent call observed its abort' });
      expect(call.outcome).toBe('aborted');
      call.answer('too late'); // no effect: the call has settled as aborted
      const identity = await disposedIdentity(engine(), sessionDbId);
      expect(identity.stream.disposal).toMatchObject({ reason: 'deleted', droppedItems: 2 });
      expect((await engine().events(sessionDbId))!.some((event) => event.type.startsWith('xstate.done.actor'))).toBe(false);
      expect(await engine().get({ sessionDbId })).toBeUndefined();
      await waitForEngine(engine(), async () => (await engine().stats()).slots.inUse === 0, { what: 'the slot released' });
    });

    it('bounds agent calls with one slot, granted first come first served, released on every way out', async () => {
      const ids: number[] = [];
      for (const session of ['fifo-a', 'fifo-b', 'fifo-c']) {
        ids.push(idOf(await engine().init({ contentSessionId: session, project: PROJECT }, { prompt: `HOLD ${session}` })));
      }
      const order: number[] = [];
      for (let round = 0; round < 3; round++) {
        const call = await waitFor(() => agent.pending().length === 1 && agent.pending()[0], {
          on: [agent.changes],
          what: `one call in flight in round ${round}`,
        });
        order.push(call.request.sessionDbId);
        if (round === 1) {
          await engine().delete({ sessionDbId: call.request.sessionDbId });
          await waitFor(() => call.outcome === 'aborted', { on: [agent.changes], what: "the deleted session's call aborted" });
        } else call.answer();
      }
      expect(order).toEqual(ids);
      expect(agent.maxInFlight).toBe(1);
      await waitForEngine(engine(), async () => (await engine().stats()).slots.inUse === 0, { what: 'every slot released' });
      for (const sessionDbId of [ids[0]!, ids[2]!]) await engine().delete({ sessionDbId });
    });

    it('refuses what it cannot take, and records nothing for it', async () => {
      const unknown = { contentSessionId: 'never-seen', project: PROJECT };
      expect(await engine().touch(unknown)).toEqual({ ok: false, error: 'not-found' });
      expect(await engine().complete({ sessionDbId: 999_999 })).toEqual({ ok: false, error: 'not-found' });
      expect(await engine().delete({ sessionDbId: 999_999 })).toEqual({ ok: false, error: 'not-found' });
      // claude-mem's privacy rule: work that needs a prompt opens no session for a content session that had none.
      expect(await engine().enqueue(unknown, { kind: 'observation', prompt: 'x', requirePrompt: true })).toEqual({
        ok: false,
        error: 'not-prompted',
      });
      expect(await engine().identity(unknown)).toBeUndefined();

      // A full queue: the prompt in flight and four observations make five.
      const target = { contentSessionId: 'full-1', project: PROJECT };
      const sessionDbId = idOf(await engine().init(target, { prompt: 'HOLD the queue' }));
      for (let n = 0; n < CONTRACT.maxQueuedItems - 1; n++) {
        expect(await engine().enqueue(target, { kind: 'observation', prompt: `item ${n}` })).toMatchObject({ status: 'queued' });
      }
      const refused = await engine().enqueue(target, { kind: 'observation', prompt: 'one too many', toolUseId: 'tu-full' });
      expect(refused).toMatchObject({ ok: false, error: 'queue-full' });
      expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
      expect(await engine().init(target, { prompt: 'a new prompt' })).toMatchObject({ ok: false, error: 'queue-full' });
      expect((await engine().get(target))!.queueLength).toBe(CONTRACT.maxQueuedItems);
      await engine().delete({ sessionDbId });
      await disposedIdentity(engine(), sessionDbId);
      expect((await engine().events(sessionDbId))!.filter((event) => event.type === 'WORK_QUEUED')).toHaveLength(
        CONTRACT.maxQueuedItems - 1,
      );
      // What was refused was not recorded: its tool_use_id is new work once there is room.
      expect(await engine().enqueue(target, { kind: 'observation', prompt: 'one too many', toolUseId: 'tu-full' })).toMatchObject({
        status: 'queued',
        sessionDbId,
      });
      await waitForState(engine(), sessionDbId, 'idle');
      await engine().delete({ sessionDbId });
    });

    it('is idempotent: a repeated prompt number is activity, a tool_use_id is queued once for the session’s life, even after disposal', async () => {
      const target = { contentSessionId: 'retries-1', project: PROJECT };
      const sessionDbId = idOf(await engine().init(target, { prompt: 'a prompt', promptNumber: 1 }));
      expect(await engine().init(target, { prompt: 'a prompt', promptNumber: 1 })).toMatchObject({
        ok: true,
        promptNumber: 1,
        created: false,
      });
      expect(await engine().enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-once' })).toMatchObject({
        status: 'queued',
      });
      await waitForState(engine(), sessionDbId, 'idle');
      expect(await engine().enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-once' })).toMatchObject({
        status: 'duplicate',
        sessionDbId,
      });
      expect((await engine().get(target))!.counters).toMatchObject({ queued: 2, processed: 2 });
      await engine().delete(target);
      await disposedIdentity(engine(), sessionDbId);
      // Known work neither queues nor revives the session.
      expect(await engine().enqueue(target, { kind: 'observation', prompt: 'seen once', toolUseId: 'tu-once' })).toMatchObject({
        ok: true,
        status: 'duplicate',
        sessionDbId,
      });
      expect(await engine().get(target)).toBeUndefined();
      // New work revives it under the same id, its prompt numbers continued.
      expect(await engine().enqueue(target, { kind: 'observation', prompt: 'new', toolUseId: 'tu-new' })).toMatchObject({
        status: 'queued',
        sessionDbId,
      });
      expect((await engine().get(target))!.promptNumber).toBe(1);
      expect((await engine().init(target, { prompt: 'the next prompt' })) as object).toMatchObject({ ok: true, promptNumber: 2 });
      await waitForState(engine(), sessionDbId, 'idle');
      await engine().delete(target);
    });

    it('opens an identity for a private prompt and records nothing; its work is skipped as not prompted', async () => {
      const opened = await engine().openIdentity('private-1', PROJECT);
      expect(opened).toMatchObject({ contentSessionId: 'private-1', project: PROJECT, lastPromptNumber: 0 });
      const { sessionDbId } = opened as { sessionDbId: number };
      expect(await engine().openIdentity('private-1', PROJECT)).toMatchObject({ sessionDbId });
      expect(await engine().enqueue({ contentSessionId: 'private-1' }, { kind: 'observation', prompt: 'x', requirePrompt: true })).toEqual({
        ok: false,
        error: 'not-prompted',
      });
      expect(await engine().get({ sessionDbId })).toBeUndefined();
      expect(await engine().events(sessionDbId)).toEqual([]);
      expect(await engine().events(999_999)).toBeUndefined();
    });

    it('pages a session’s events: every one in order with its payload, after a seq, at most a limit', async () => {
      const target = { contentSessionId: 'pages-1', project: PROJECT };
      const sessionDbId = idOf(await engine().init(target, { prompt: 'a prompt' }));
      for (let n = 0; n < 3; n++) await engine().enqueue(target, { kind: 'observation', prompt: `page ${n}`, toolUseId: `tu-page-${n}` });
      await waitForState(engine(), sessionDbId, 'idle');
      const all = (await engine().events(sessionDbId))!;
      expect(all[0]).toMatchObject({ seq: 1, type: 'xstate.init' });
      expect(all.find((event) => event.type === 'WORK_QUEUED')?.payload).toMatchObject({ item: { toolUseId: 'tu-page-0' } });
      expect(await engine().events(sessionDbId, { after: 2, limit: 2 })).toEqual(all.slice(2, 4));
      await engine().delete(target);
    });
  });

  describe(`${name} engine: deadlines`, () => {
    const { agent, engine, heldCall } = useEngine(open, DEADLINES);

    it('goes idle → expiring → disposed with reason ttl, at the deadlines in its context', async () => {
      const sessionDbId = idOf(await engine().init({ contentSessionId: 'ttl-1', project: PROJECT }, { prompt: 'a short prompt' }));
      await waitForState(engine(), sessionDbId, 'idle');
      const idle = (await engine().get({ sessionDbId }))!;
      expect(idle.idleDeadline).toBe(idle.lastActivityAt + DEADLINES.idleTtlMs);
      const expiringSeenAt = await waitForState(engine(), sessionDbId, 'expiring', { timeoutMs: DEADLINES.idleTtlMs + 5_000 });
      expect(expiringSeenAt).toBeGreaterThanOrEqual(idle.idleDeadline!);
      const expiring = (await engine().get({ sessionDbId }))!;
      expect(expiring.graceDeadline).toBe(idle.idleDeadline! + DEADLINES.graceMs);
      const identity = await disposedIdentity(engine(), sessionDbId, DEADLINES.graceMs + 5_000);
      expect(identity.stream.disposal).toEqual({ reason: 'ttl', at: idle.idleDeadline! + DEADLINES.graceMs, droppedItems: 0 });
      // The idle timer, then the grace timer, each at its deadline or after (the log says when it was processed).
      const timers = (await engine().events(sessionDbId))!.filter((event) => event.type.startsWith('xstate.after.'));
      expect(timers.map((event) => event.type)).toEqual([IDLE_TIMER_EVENT, expect.stringMatching(/^xstate\.after\.graceDeadline\./)]);
      expect(timers[0]!.at).toBeGreaterThanOrEqual(idle.idleDeadline!);
      expect(timers[1]!.at).toBeGreaterThanOrEqual(idle.idleDeadline! + DEADLINES.graceMs);
    });

    it('times out a silent agent: the call is aborted, the slot freed, the batch backs off', async () => {
      const sessionDbId = idOf(await engine().init({ contentSessionId: 'timeout-1', project: PROJECT }, { prompt: 'HOLD forever' }));
      const call = await heldCall(sessionDbId);
      await waitForState(engine(), sessionDbId, 'active.backoff');
      await waitFor(() => call.outcome === 'aborted', { on: [agent.changes], what: 'the timed-out call observed its abort' });
      const view = (await engine().get({ sessionDbId }))!;
      expect(view.lastFailure).toMatchObject({ kind: 'timeout' });
      expect(view.attempt).toBe(1);
      expect(view.tags).toContain('retry-wait');
      await waitForEngine(engine(), async () => (await engine().stats()).slots.inUse === 0, { what: 'the slot released' });
      await engine().delete({ sessionDbId });
    });
  });

  describe(`${name} engine: the model's paths`, () => {
    const { engine, heldCall } = useEngine(open, MODEL);
    const paths = selectPaths();

    it(`walks ${paths.length} paths of the session model to the states it says`, async () => {
      expect(paths.length).toBeGreaterThanOrEqual(20);
      await Promise.all(paths.map((path, index) => walk(path, `path-${index}`)));
    }, 120_000);

    async function walk(path: Path, contentSessionId: string): Promise<void> {
      const target: SessionTarget = { contentSessionId, project: 'model' };
      let sessionDbId = -1;
      let works = 0;
      const at = (i: number) => `${contentSessionId} step ${i}: ${path.steps.map((step) => step.event.type).join(' → ')}`;
      for (let i = 1; i < path.steps.length; i++) {
        const { event, state } = path.steps[i]!;
        const agentStep = async (act: (call: HeldCall) => void) => act(await heldCall(sessionDbId, at(i)));
        switch (event.type) {
          case 'INIT':
            sessionDbId = idOf(await engine().init(target, { prompt: 'HOLD a prompt' }));
            break;
          case 'PROMPT_REPEATED': {
            const { promptNumber } = (await engine().get({ sessionDbId }))!;
            await engine().init({ sessionDbId }, { prompt: 'HOLD a prompt', promptNumber });
            break;
          }
          case 'WORK':
            await engine().enqueue(target, { kind: 'observation', prompt: `HOLD work ${++works}` });
            break;
          case 'TOUCH':
            await engine().touch({ sessionDbId });
            break;
          case 'COMPLETE':
            await engine().complete({ sessionDbId });
            break;
          case 'DELETE':
            await engine().delete({ sessionDbId });
            break;
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
          const identity = await disposedIdentity(engine(), sessionDbId);
          expect(identity.stream.disposal?.reason, at(i)).toBe(REASONS[expected.slice('disposed.'.length)]);
          return;
        }
        await waitForState(engine(), sessionDbId, expected, { timeoutMs: 15_000 });
        const view = (await engine().get({ sessionDbId }))!;
        expect(view.queueLength, at(i)).toBe(state.context.queue.length);
        expect(view.completing, at(i)).toBe(state.context.completing);
        if (expected === 'active.processing') {
          // The call in flight answers the batch the model expects, at the attempt it expects.
          const call = await heldCall(sessionDbId, at(i));
          expect(
            call.request.items.map((item) => item.kind),
            `${at(i)}: the batch`,
          ).toEqual(state.context.queue.slice(0, state.context.batch));
          expect(call.request.attempt, `${at(i)}: the attempt`).toBe(state.context.attempt + 1);
        }
      }
      // Leave nothing behind: a path that ends live is deleted.
      if (sessionDbId !== -1) await engine().delete({ sessionDbId });
    }
  });
}

/** The identity of a session once its disposal is recorded in it (it may be a moment after the session is gone). */
async function disposedIdentity(engine: SessionEngine, sessionDbId: number, timeoutMs = 10_000) {
  return waitForEngine(
    engine,
    async () => {
      const identity = await engine.identity({ sessionDbId });
      return identity?.stream.disposal !== null && identity?.stream.status !== 'live' && identity;
    },
    { what: `the disposal of session ${sessionDbId} recorded`, timeoutMs },
  );
}

/** The model's events an engine can be driven with from outside (capacity, memory and restarts are engine-specific). */
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

/** One path per distinct last transition (state, event) of the model's shortest paths, the shortest that ends with it. */
function selectPaths(): Path[] {
  const byLastTransition = new Map<string, Path>();
  for (const path of createTestModel(sessionModel).getShortestPaths({ allowDuplicatePaths: true }) as unknown as Path[]) {
    const events = path.steps.slice(1).map((step) => step.event.type);
    if (events.length === 0 || !events.every((type) => SUPPORTED.has(type))) continue;
    const key = `${stateName(path.steps.at(-2)!.state.value)} ${events.at(-1)}`;
    const known = byLastTransition.get(key);
    if (known === undefined || known.steps.length > path.steps.length) byLastTransition.set(key, path);
  }
  return [...byLastTransition.values()];
}
