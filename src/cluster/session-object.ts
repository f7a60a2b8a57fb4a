import * as restate from '@restatedev/restate-sdk';
import {
  agentEvent,
  agentOutcomeTime,
  hasPublicPrompt,
  promptEvent,
  screenWork,
  workEvent,
  workStatus,
} from '../../machines/session.commands.js';
import { hasTag } from '../../machines/session.states.js';
import type { CommandResult, EnqueueResult, InitResult, PromptRequest, Refusal, WorkRequest } from '../engine/index.js';
import { describeSession, type SessionView } from '../session/index.js';
import type { AgentOutcome } from './agent-service.js';
import { SERVICE_NAMES, SLOT_POOL_KEY, sessionApi, slotsApi, timelineApi } from './handles.js';
import type { MachineState } from './machine.js';
import {
  IDENTITY,
  type IdentityRecord,
  type IdentitySeed,
  identityFor,
  pendingKey,
  RECORD,
  readAll,
  readRecord,
  type SessionRecord,
  workKey,
} from './session-state.js';
import { type SessionServiceSettings, SessionTurn } from './session-turn.js';
import type { SlotGrant } from './slots.js';
import type { TimelineEntry } from './timeline.js';

export type { IdentityRecord, IdentitySeed } from './session-state.js';
export type { SessionServiceSettings } from './session-turn.js';

/**
 * When a command happened, as its caller took it: the worker stamps each hook call with its clock when it
 * arrives (the time the embedded engine would give it), so that the turn needs no journaled clock read of
 * its own. Absent: the turn reads Restate's journaled clock.
 */
interface Stamped {
  readonly at?: number;
}

/** An `init` as the directory sends it for a content session it has just opened: the new session's identity with it. */
export type SeededPromptRequest = PromptRequest & Stamped & { readonly identity?: IdentitySeed };

/** Work as the engine sends it. */
export type StampedWorkRequest = WorkRequest & Stamped;

const notFound = { ok: false, error: 'not-found' } as const;

/**
 * The session service: one virtual object per session, keyed by its sessionDbId, running the
 * project's `sessionMachine` through xstate's pure transition (session-turn.ts). Restate makes it
 * single-writer and durable: the machine's state and context, its timers (delayed self-messages), the
 * slot lease and the agent call all live in Restate, and every handler's effects commit together with
 * the new state. Disposal clears the live record; what stays is the session's identity and the keys of
 * the work it was given (like the embedded log's session row and work-key index), until `forget`.
 * Lazy state: a handler reads the identity and the record, never the timeline keys or work keys it
 * does not ask for. What a command means (its prompt number, a full queue, privacy, a repeated
 * tool_use_id) is the rule both engines share (machines/session.commands.ts); it answers in the
 * engine contract's results.
 */
export function createSessionObject(service: SessionServiceSettings) {
  const load = async (ctx: restate.ObjectContext, options?: Parameters<typeof SessionTurn.load>[2]) =>
    SessionTurn.load(ctx, service, options);
  const queueFull: Refusal = { ok: false, error: 'queue-full', retryAfterMs: service.retryAfterMs };

  /** A command for a live session only. */
  async function command(ctx: restate.ObjectContext, build: (at: number) => Parameters<SessionTurn['step']>[0]): Promise<CommandResult> {
    const turn = await load(ctx);
    if (turn?.record == null) return notFound;
    await turn.step(build(turn.now));
    await turn.finish();
    return { ok: true, sessionDbId: turn.identity.sessionDbId };
  }

  return restate.object({
    name: SERVICE_NAMES.session,
    handlers: {
      /** Gives a new session its identity (from the directory, once); answers the identity it has. */
      identify: async (
        ctx: restate.ObjectContext,
        request: { contentSessionId: string; project: string; at: number },
      ): Promise<IdentityRecord> => {
        const known = await ctx.get<IdentityRecord>(IDENTITY);
        const identity = identityFor(ctx.key, known, request);
        if (known === null) ctx.set(IDENTITY, identity);
        return identity;
      },
      /** A prompt; with `identity` (the directory opening a new content session), the session's identity first, in the same turn. */
      init: async (ctx: restate.ObjectContext, request: SeededPromptRequest): Promise<InitResult> => {
        const { identity: seed, at, ...prompt } = request;
        const turn = await load(ctx, { ...(seed === undefined ? {} : { seed }), ...(at === undefined ? {} : { at }) });
        if (turn === null) return notFound;
        if (turn.record === null) await turn.create();
        const outcome = promptEvent(turn.live.context, prompt, service, turn.now);
        if (!outcome.ok) {
          await turn.finish();
          return queueFull;
        }
        await turn.step(outcome.event);
        await turn.finish();
        return { ok: true, sessionDbId: turn.identity.sessionDbId, promptNumber: outcome.promptNumber, created: turn.created };
      },
      enqueue: async (ctx: restate.ObjectContext, stamped: StampedWorkRequest): Promise<EnqueueResult> => {
        const { at, ...request } = stamped;
        // The work key is read with the record: one round trip to the server.
        const turn = await load(ctx, {
          ...(request.toolUseId === undefined ? {} : { also: [workKey(request.toolUseId)] }),
          ...(at === undefined ? {} : { at }),
        });
        if (turn === null) return notFound;
        const { sessionDbId } = turn.identity;
        const screened = screenWork(request, {
          prompted: hasPublicPrompt(turn.identity.lastPromptNumber, turn.record?.context),
          // Every item this session was ever given (however long ago, disposed since or not), until `forget`.
          knownToolUse: request.toolUseId !== undefined && turn.also[0] != null,
        });
        if (screened === 'not-prompted') return { ok: false, error: 'not-prompted' };
        if (screened === 'duplicate')
          return { ok: true, status: 'duplicate', sessionDbId, queueLength: turn.record?.context.queue.length ?? 0 };
        if (turn.record === null) await turn.create();
        const before = turn.live.context;
        const work = workEvent(before, request, service, turn.now);
        if (!work.ok) {
          await turn.finish();
          return queueFull;
        }
        await turn.step(work.event);
        const status = workStatus(before, turn.record?.context);
        if (status === 'queued' && request.toolUseId !== undefined) ctx.set(workKey(request.toolUseId), 1);
        const queueLength = turn.live.context.queue.length;
        await turn.finish();
        return { ok: true, status, sessionDbId, queueLength };
      },
      touch: async (ctx: restate.ObjectContext): Promise<CommandResult> => command(ctx, (at) => ({ type: 'TOUCH', at })),
      complete: async (ctx: restate.ObjectContext): Promise<CommandResult> => command(ctx, (at) => ({ type: 'COMPLETE', at })),
      delete: async (ctx: restate.ObjectContext): Promise<CommandResult> => command(ctx, (at) => ({ type: 'DELETE', at })),
      evict: async (ctx: restate.ObjectContext, request: { reason: 'capacity' | 'memory-pressure' }): Promise<CommandResult> =>
        command(ctx, (at) => ({ type: 'EVICT', reason: request.reason, at })),

      get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<SessionView | null> => {
        const record = await readRecord(ctx);
        return record === null ? null : describeSession(record.value, record.context);
      }),
      /** The raw machine state, for audits and the model-based tests (history included). */
      state: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<MachineState | null> => {
        const record = await readRecord(ctx);
        return record === null ? null : { value: record.value, context: record.context };
      }),
      /** Who the session is and how its stream stands (live: with its current seq and prompt number); null if never opened. */
      identity: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<IdentityRecord | null> => {
        const [identity, record] = (await readAll(ctx, [IDENTITY, RECORD])) as [IdentityRecord | null, SessionRecord | null];
        if (identity === null || record === null) return identity;
        return {
          ...identity,
          status: 'live',
          lastSeq: record.seq,
          lastPromptNumber: Math.max(identity.lastPromptNumber, record.context.promptNumber),
        };
      }),
      /** Timeline entries not yet sent to the timeline object (the newest, fewer than a batch). */
      pending: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext): Promise<TimelineEntry[]> => {
        const record = await ctx.get<SessionRecord>(RECORD);
        if (record === null) return [];
        const seqs: number[] = [];
        for (let seq = record.flushedSeq + 1; seq <= record.seq; seq++) seqs.push(seq);
        const entries = (await readAll(ctx, seqs.map(pendingKey))) as (TimelineEntry | null)[];
        return entries.filter((entry): entry is TimelineEntry => entry !== null);
      }),

      timer: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, request: { id: string; token: string }): Promise<void> => {
          const turn = await load(ctx);
          const record = turn?.record;
          const sent = record?.sent[request.id];
          if (turn == null || record == null || sent?.token !== request.token) return; // superseded, or the session is gone
          const timers = { ...record.timers };
          const sentNow = { ...record.sent };
          delete sentNow[request.id];
          const armed = timers[request.id];
          if (armed === undefined || armed.dueAt > sent.dueAt) {
            // Disarmed since (nothing to do), or re-armed for later: on for the remainder, still one message.
            turn.record = { ...record, sent: sentNow };
            if (armed !== undefined) {
              const token = ctx.rand.uuidv4();
              turn.record.sent[request.id] = { token, dueAt: armed.dueAt };
              const delay = { milliseconds: Math.max(0, armed.dueAt - turn.now) };
              ctx.objectSendClient(sessionApi, ctx.key).timer({ id: request.id, token }, restate.rpc.sendOpts({ delay }));
            }
            await turn.finish();
            return;
          }
          delete timers[request.id];
          turn.record = { ...record, timers, sent: sentNow };
          await turn.step({ type: armed.eventType, at: armed.dueAt });
          await turn.finish();
        },
      ),
      slotGranted: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, grant: SlotGrant): Promise<void> => {
          const turn = await load(ctx);
          const record = turn?.record;
          if (record != null && grant.free !== undefined) record.slotFree = grant.free > 0;
          if (turn == null || record == null || record.slot?.lease !== grant.lease || !hasTag(record, 'slot-request')) {
            // A grant for a request withdrawn meanwhile (deleted, disposed): the slot goes to the next in line.
            ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: grant.lease });
            return;
          }
          record.slot.granted = true;
          await turn.step({ type: 'SLOT_GRANTED', at: turn.now });
          await turn.finish();
        },
      ),
      agentResult: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, result: { callId: string; outcome: AgentOutcome; lease: string }): Promise<void> => {
          const turn = await load(ctx);
          const record = turn?.record;
          // An answer of an attempt the session has left (timed out, cancelled) is never applied; its lease goes back.
          if (turn == null || record == null || record.agent?.callId !== result.callId) {
            ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: result.lease });
            return;
          }
          record.agent.settled = true;
          turn.releaseLease = result.lease;
          // The machine's own event for the outcome; the cluster's events carry their time as `at`.
          await turn.step({ ...agentEvent(result.outcome), at: agentOutcomeTime(result.outcome) });
          await turn.finish();
        },
      ),
      /** The retention period of a disposal is over: its events and work keys go; the identity keeps a summary. */
      forget: restate.handlers.object.exclusive(
        { ingressPrivate: true },
        async (ctx: restate.ObjectContext, request: { token: string }): Promise<void> => {
          const identity = await ctx.get<IdentityRecord>(IDENTITY);
          if (identity === null || identity.forgetToken !== request.token || identity.disposal === null) return;
          for (const key of await ctx.stateKeys()) if (key.startsWith('w:') || key.startsWith('t:')) ctx.clear(key);
          const counters = identity.counters;
          ctx.set(IDENTITY, {
            ...identity,
            status: 'compacted',
            forgetToken: null,
            summary: {
              createdAt: identity.createdAt,
              disposedAt: identity.disposal.at,
              reason: identity.disposal.reason,
              droppedItems: identity.disposal.droppedItems,
              events: identity.lastSeq,
              processed: counters?.processed ?? 0,
              failed: counters?.failed ?? 0,
              compactedAt: await ctx.date.now(),
            },
          } satisfies IdentityRecord);
          ctx.objectSendClient(timelineApi, ctx.key).forget();
        },
      ),
    },
    options: { enableLazyState: true },
  });
}

export type SessionObject = ReturnType<typeof createSessionObject>;
