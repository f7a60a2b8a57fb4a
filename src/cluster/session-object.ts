import * as restate from '@restatedev/restate-sdk';
import type { SessionEvent, SessionSettings, WorkKind } from '../../machines/session.machine.js';
import type { TokenEstimator } from '../history/index.js';
import { describeSession, type SessionView, stateNameOf } from '../session/index.js';
import type { AgentOutcome, AgentService } from './agent-service.js';
import { type DeliveredEvent, type Effect, type MachineState, type Step, startMachine, stepMachine } from './machine.js';
import { SLOT_POOL_KEY, type SlotPoolObject } from './slots.js';
import type { TimelineEntry, TimelineObject } from './timeline.js';

export interface SessionServiceSettings {
  readonly settings: SessionSettings;
  readonly maxConcurrentAgents: number;
  readonly maxQueuedItems: number;
  readonly estimateTokens: TokenEstimator;
}

/** Who a session is; needed only when the object has no live machine (creation or revival). */
export interface SessionIdentity {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
}

export type ClusterRefusal = { readonly ok: false; readonly error: 'not-found' } | { readonly ok: false; readonly error: 'queue-full' };

export type ClusterInitResult = { readonly ok: true; readonly promptNumber: number; readonly created: boolean } | ClusterRefusal;
export type ClusterEnqueueResult =
  | { readonly ok: true; readonly status: 'queued' | 'duplicate'; readonly queueLength: number; readonly created: boolean }
  | ClusterRefusal;
export type ClusterCommandResult = { readonly ok: true } | ClusterRefusal;

/** Everything the object keeps for a live session, under one state key (one read, one write per event). */
interface SessionRecord extends MachineState {
  /** Armed timers by xstate's send id; a firing whose token is not here was cancelled or replaced. */
  readonly timers: Record<string, { readonly token: string; readonly eventType: string; readonly dueAt: number }>;
  /** The slot lease asked for and not yet handed to an agent call. */
  slot: { readonly lease: string; granted: boolean } | null;
  /** The agent call of the current attempt; it owns the lease from here on. */
  agent: { readonly callId: string; readonly invocationId: string; settled: boolean } | null;
  seq: number;
}

const RECORD = 'session';

/**
 * The session service: one virtual object per session, keyed by its sessionDbId, running the
 * project's `sessionMachine` through xstate's pure transition. Restate makes it single-writer and
 * durable: the machine's state and context, its timers (delayed self-messages), the slot lease and the
 * agent call all live in Restate, and every handler's effects commit together with the new state.
 * Disposal clears the object entirely; the reason and the events stay in the session's timeline object.
 */
export function createSessionObject(service: SessionServiceSettings) {
  const timelineApi: TimelineObject = { name: 'sessionTimeline' };
  const slotsApi: SlotPoolObject = { name: 'agentSlots' };
  const agentApi: AgentService = { name: 'sessionAgent' };

  /** `now` is Restate's journaled clock for this handler: only what a Restate timer waits is counted from it. */
  async function apply(
    ctx: restate.ObjectContext,
    record: SessionRecord,
    step: Step,
    event: DeliveredEvent,
    log: TimelineEntry[],
    now: number,
  ) {
    const next: SessionRecord = { ...record, ...step.state, timers: { ...record.timers } };
    next.seq++;
    log.push({ seq: next.seq, type: event.type, at: event.at, state: stateNameOf(step.state.value), payload: event });
    for (const effect of step.effects) await carryOut(ctx, next, effect, event, now);
    return next;
  }

  async function carryOut(
    ctx: restate.ObjectContext,
    record: SessionRecord,
    effect: Effect,
    event: DeliveredEvent,
    now: number,
  ): Promise<void> {
    switch (effect.type) {
      case 'armTimer': {
        const token = ctx.rand.uuidv4();
        record.timers[effect.id] = { token, eventType: effect.eventType, dueAt: effect.dueAt };
        // Restate's timer is absolute once sent: a server restart keeps the original due time.
        const delay = Math.max(0, effect.dueAt - now);
        ctx.objectSendClient(sessionApi, ctx.key).timer({ id: effect.id, token }, restate.rpc.sendOpts({ delay: { milliseconds: delay } }));
        return;
      }
      case 'disarmTimer':
        delete record.timers[effect.id];
        return;
      case 'requestSlot': {
        const lease = `${ctx.key}/${ctx.rand.uuidv4()}`;
        record.slot = { lease, granted: false };
        ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).acquire({ lease, session: ctx.key, capacity: service.maxConcurrentAgents });
        return;
      }
      case 'cancelSlotRequest':
        // Leaving `waiting` because the slot came keeps the lease for the agent call; any other way gives it back.
        if (record.slot !== null && !(event.type === 'SLOT_GRANTED' && record.slot.granted)) {
          ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: record.slot.lease });
          record.slot = null;
        }
        return;
      case 'startAgent': {
        const lease = record.slot?.lease ?? `${ctx.key}/unleased`;
        const callId = ctx.rand.uuidv4();
        const handle = ctx.serviceSendClient(agentApi).run({ session: ctx.key, callId, lease, input: effect.input });
        record.slot = null;
        record.agent = { callId, invocationId: await handle.invocationId, settled: false };
        return;
      }
      case 'releaseSlot':
        // The agent call releases its lease when it ends; leaving `processing` before it answered cancels it.
        if (record.agent !== null && !record.agent.settled) ctx.cancel(record.agent.invocationId as restate.InvocationId);
        record.agent = null;
        return;
      case 'notifyExpiring':
      case 'removeFromRegistry':
        return; // the timeline records both (state `expiring`, `disposed`), and disposal is handled in `finish`
    }
  }

  /** Persists the new record, or clears everything of a disposed session, and writes its timeline. */
  function finish(ctx: restate.ObjectContext, record: SessionRecord, done: boolean, log: TimelineEntry[]): void {
    if (log.length > 0) ctx.objectSendClient(timelineApi, ctx.key).append({ entries: log });
    if (!done) {
      ctx.set(RECORD, record);
      return;
    }
    ctx.clearAll();
    const { context } = record;
    ctx.objectSendClient(timelineApi, ctx.key).disposed({
      sessionDbId: context.sessionDbId,
      contentSessionId: context.contentSessionId,
      project: context.project,
      disposal: context.disposal ?? { reason: 'deleted', at: record.context.lastActivityAt, droppedItems: 0 },
      promptNumber: context.promptNumber,
      counters: context.counters,
    });
  }

  /** The live record, or a new machine for `identity` (continuing a disposed incarnation's prompt numbers). */
  async function liveOrNew(
    ctx: restate.ObjectContext,
    identity: SessionIdentity | undefined,
    at: number,
    log: TimelineEntry[],
  ): Promise<{ record: SessionRecord; created: boolean } | undefined> {
    const live = await ctx.get<SessionRecord>(RECORD);
    if (live !== null) return { record: live, created: false };
    const tombstone = await ctx.objectClient(timelineApi, ctx.key).tombstone();
    const who = identity ?? tombstone ?? undefined;
    if (who === undefined) return undefined;
    const sessionDbId = Number(ctx.key);
    const input = { sessionDbId, contentSessionId: who.contentSessionId, project: who.project, settings: service.settings, at };
    const step = startMachine(tombstone === null ? input : { ...input, promptNumber: tombstone.promptNumber });
    const empty: SessionRecord = { ...step.state, timers: {}, slot: null, agent: null, seq: 0 };
    const record = await apply(ctx, empty, step, { type: 'xstate.init', at, input } as DeliveredEvent, log, at);
    return { record, created: true };
  }

  /** One outside event for a session that may have to be created first. */
  async function deliverOutside(
    ctx: restate.ObjectContext,
    identity: SessionIdentity | undefined,
    build: (record: SessionRecord, at: number) => SessionEvent | ClusterRefusal | null,
  ): Promise<{ record: SessionRecord; created: boolean } | ClusterRefusal> {
    const at = await ctx.date.now();
    const log: TimelineEntry[] = [];
    const found = await liveOrNew(ctx, identity, at, log);
    if (found === undefined) return { ok: false, error: 'not-found' };
    let { record } = found;
    const event = build(record, at);
    if (event !== null && 'ok' in event) {
      finish(ctx, record, false, log);
      return event;
    }
    let done = false;
    if (event !== null) {
      const step = stepMachine(record, event);
      record = await apply(ctx, record, step, event, log, at);
      done = step.done;
    }
    finish(ctx, record, done, log);
    return { record, created: found.created };
  }

  /** An internal event (timer, grant, agent outcome) for a live session; ignored once it is gone. */
  async function deliverInternal(ctx: restate.ObjectContext, build: (record: SessionRecord, at: number) => DeliveredEvent | null) {
    const live = await ctx.get<SessionRecord>(RECORD);
    if (live === null) return false;
    const now = await ctx.date.now();
    const event = build(live, now);
    if (event === null) return false;
    const log: TimelineEntry[] = [];
    const step = stepMachine(live, event);
    finish(ctx, await apply(ctx, live, step, event, log, now), step.done, log);
    return true;
  }

  const queueFull = (record: SessionRecord) => record.context.queue.length >= service.maxQueuedItems;

  const sessionObject = restate.object({
    name: 'session',
    handlers: {
      init: async (
        ctx: restate.ObjectContext,
        request: { identity?: SessionIdentity; prompt: string; promptNumber?: number },
      ): Promise<ClusterInitResult> => {
        let promptNumber = 0;
        const result = await deliverOutside(ctx, request.identity, (record, at) => {
          promptNumber = request.promptNumber ?? record.context.promptNumber + 1;
          if (promptNumber > record.context.promptNumber && queueFull(record)) return { ok: false, error: 'queue-full' };
          const promptTokens = service.estimateTokens(request.prompt);
          return { type: 'INIT', prompt: request.prompt, promptTokens, promptNumber, at };
        });
        return 'ok' in result ? result : { ok: true, promptNumber, created: result.created };
      },
      enqueue: async (
        ctx: restate.ObjectContext,
        request: { identity?: SessionIdentity; kind: Exclude<WorkKind, 'prompt'>; prompt: string; toolUseId?: string },
      ): Promise<ClusterEnqueueResult> => {
        let queuedBefore = 0;
        const result = await deliverOutside(ctx, request.identity, (record, at) => {
          if (queueFull(record)) return { ok: false, error: 'queue-full' };
          queuedBefore = record.context.counters.queued;
          const id = request.toolUseId ?? `${request.kind}-${queuedBefore + 1}-${at}`;
          const item = {
            id,
            kind: request.kind,
            prompt: request.prompt,
            promptTokens: service.estimateTokens(request.prompt),
            ...(request.toolUseId === undefined ? {} : { toolUseId: request.toolUseId }),
            queuedAt: at,
          };
          return { type: 'WORK_QUEUED', item, at };
        });
        if ('ok' in result) return result;
        const { context } = result.record;
        const status = context.counters.queued > queuedBefore ? 'queued' : 'duplicate';
        return { ok: true, status, queueLength: context.queue.length, created: result.created };
      },
      touch: async (ctx: restate.ObjectContext): Promise<ClusterCommandResult> => command(ctx, (at) => ({ type: 'TOUCH', at })),
      complete: async (ctx: restate.ObjectContext): Promise<ClusterCommandResult> => command(ctx, (at) => ({ type: 'COMPLETE', at })),
      delete: async (ctx: restate.ObjectContext): Promise<ClusterCommandResult> => command(ctx, (at) => ({ type: 'DELETE', at })),
      evict: async (ctx: restate.ObjectContext, request: { reason: 'capacity' | 'memory-pressure' }): Promise<ClusterCommandResult> =>
        command(ctx, (at) => ({ type: 'EVICT', reason: request.reason, at })),

      get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<SessionView | null> => {
        const record = await ctx.get<SessionRecord>(RECORD);
        return record === null ? null : describeSession(record.value, record.context);
      }),
      /** The raw machine state, for audits and the model-based tests (history included). */
      state: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<MachineState | null> => {
        const record = await ctx.get<SessionRecord>(RECORD);
        return record === null ? null : { value: record.value, context: record.context };
      }),

      timer: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, request: { id: string; token: string }): Promise<void> => {
          await deliverInternal(ctx, (record) => {
            const timer = record.timers[request.id];
            if (timer === undefined || timer.token !== request.token) return null; // cancelled or re-armed since
            return { type: timer.eventType, at: timer.dueAt };
          });
        },
      ),
      slotGranted: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, grant: { lease: string }): Promise<void> => {
          const applied = await deliverInternal(ctx, (record, at) => {
            if (record.slot?.lease !== grant.lease) return null;
            record.slot.granted = true;
            return { type: 'SLOT_GRANTED', at };
          });
          // A grant for a request withdrawn meanwhile (deleted, disposed): the slot goes to the next in line.
          if (!applied) ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: grant.lease });
        },
      ),
      agentResult: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, result: { callId: string; outcome: AgentOutcome }): Promise<void> => {
          await deliverInternal(ctx, (record) => {
            // An answer of an attempt the session has left (timed out, cancelled) is never applied.
            if (record.agent?.callId !== result.callId) return null;
            record.agent.settled = true;
            const { outcome } = result;
            return outcome.ok
              ? { type: 'xstate.done.actor.agent', output: outcome.output, at: outcome.output.at }
              : { type: 'xstate.error.actor.agent', error: outcome.failure, at: outcome.failure.at };
          });
        },
      ),
    },
  });

  async function command(ctx: restate.ObjectContext, build: (at: number) => SessionEvent): Promise<ClusterCommandResult> {
    const live = await ctx.get<SessionRecord>(RECORD);
    if (live === null) return { ok: false, error: 'not-found' };
    const result = await deliverOutside(ctx, undefined, (_record, at) => build(at));
    return 'ok' in result ? result : { ok: true };
  }

  const sessionApi: typeof sessionObject = { name: 'session' };
  return sessionObject;
}

export type SessionObject = ReturnType<typeof createSessionObject>;
