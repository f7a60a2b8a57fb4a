import * as restate from '@restatedev/restate-sdk';
import type { SessionCounters } from '../../machines/session.machine.js';
import { hasTag, stateNameOf } from '../../machines/session.states.js';
import type { IdentityRow, ResolvedSessionOptions } from '../engine/index.js';
import { historyTokens } from '../history/index.js';
import { REPLY_EVENT, replyOf } from '../memories/index.js';
import { describeEvent } from '../replay/index.js';
import { agentApi, INDEX_KEY, indexApi, memoriesApi, SLOT_POOL_KEY, sessionApi, slotsApi, timelineApi } from './handles.js';
import { type DeliveredEvent, type Effect, type MachineState, type Step, startMachine, stepMachine } from './machine.js';
import type { TimelineEntry } from './timeline.js';

/** What the session object needs of the resolved options (src/engine/options.ts, the same rule as the embedded engine's). */
export interface SessionServiceSettings
  extends Pick<
    ResolvedSessionOptions,
    'settings' | 'maxConcurrentAgents' | 'maxQueuedItems' | 'estimateTokens' | 'retentionMs' | 'retryAfterMs'
  > {
  /** Each applied reply is sent to `sessionMemories` to be stored (a memory store is configured). */
  readonly memories: boolean;
}

/** A live session: its machine and what the object tracks around it. */
export interface SessionRecord extends MachineState {
  /** Timers the machine has armed, by xstate's send id. */
  readonly timers: Record<string, { readonly eventType: string; readonly dueAt: number }>;
  /**
   * Delayed `timer` messages sent and not yet fired, by timer id. One per id suffices: a timer re-armed
   * for a later deadline waits for the message already on its way and is sent on for the remainder when
   * it fires (the lazy deadline of the machine's own idle timer), so activity arms no message per event.
   */
  readonly sent: Record<string, { readonly token: string; readonly dueAt: number }>;
  /** The slot lease asked for and not yet handed to an agent call. */
  slot: { readonly lease: string; granted: boolean } | null;
  /** The agent call of the current attempt; it owns the lease from here on. */
  agent: { readonly callId: string; readonly invocationId: string; settled: boolean } | null;
  seq: number;
  /** Timeline entries up to this seq are in the timeline object; the later ones are `t:<seq>` keys here. */
  flushedSeq: number;
}

/** Who a session is and how its stream stands: kept across incarnations and after disposal (what the embedded log keeps as its session row). */
export interface IdentityRecord extends IdentityRow {
  readonly counters: SessionCounters | null;
  /** The pending `forget` of the last disposal; a revival clears it. */
  readonly forgetToken: string | null;
}

export const RECORD = 'session';
export const IDENTITY = 'identity';
export const pendingKey = (seq: number) => `t:${seq}`;
export const workKey = (toolUseId: string) => `w:${toolUseId}`;
/** Timeline entries sent to the timeline object together: one invocation there per this many events. */
export const TIMELINE_BATCH = 16;

/**
 * Several state keys read at once. With lazy state each read is a round trip to the server; they go out
 * together. (`ctx.get` returns Restate's own promise, which must be combined with its `all`, not the
 * global one: awaiting two of them separately at once fails in the SDK.)
 */
export function readAll(ctx: restate.ObjectContext | restate.ObjectSharedContext, keys: readonly string[]): Promise<unknown[]> {
  const reads = keys.map((key) => ctx.get<unknown>(key) as unknown as restate.RestatePromise<unknown>);
  return restate.RestatePromise.all(reads) as unknown as Promise<unknown[]>;
}

/**
 * One handler invocation of a session object: its events through the machine, their effects, and what
 * is written at the end (the record, the timeline, the identity, the index). Restate commits all of it
 * together with the invocation, so nothing of a turn is seen half done.
 */
export class SessionTurn {
  readonly entries: TimelineEntry[] = [];
  created = false;
  done = false;
  /** A lease that an agent call handed back in this turn: returned with the next request, or alone at the end. */
  releaseLease: string | null = null;

  private constructor(
    readonly ctx: restate.ObjectContext,
    readonly service: SessionServiceSettings,
    public identity: IdentityRecord,
    public record: SessionRecord | null,
    readonly now: number,
  ) {}

  /** The session's identity and live record; null when the session was never opened. */
  static async load(ctx: restate.ObjectContext, service: SessionServiceSettings): Promise<SessionTurn | null> {
    const [identity, record] = (await readAll(ctx, [IDENTITY, RECORD])) as [IdentityRecord | null, SessionRecord | null];
    if (identity === null) return null;
    return new SessionTurn(ctx, service, identity, record, await ctx.date.now());
  }

  get live(): SessionRecord {
    if (this.record === null) throw new Error('no live session');
    return this.record;
  }

  /** A new incarnation, continuing the prompt numbers of the last one. */
  async create(): Promise<void> {
    const { identity, now } = this;
    const input = {
      sessionDbId: identity.sessionDbId,
      contentSessionId: identity.contentSessionId,
      project: identity.project,
      settings: this.service.settings,
      at: now,
      ...(identity.lastPromptNumber > 0 ? { promptNumber: identity.lastPromptNumber } : {}),
    };
    const step = startMachine(input);
    this.record = { ...step.state, timers: {}, sent: {}, slot: null, agent: null, seq: identity.lastSeq, flushedSeq: identity.lastSeq };
    this.created = true;
    await this.apply(step, { type: 'xstate.init', at: now, input } as DeliveredEvent);
  }

  async step(event: DeliveredEvent): Promise<void> {
    await this.apply(stepMachine(this.live, event), event);
    // A slot granted in the answer to its request: the session takes it in this same turn.
    const record = this.record;
    if (record?.slot?.granted && hasTag(record, 'slot-request')) await this.step({ type: 'SLOT_GRANTED', at: this.now });
  }

  private async apply(step: Step, event: DeliveredEvent): Promise<void> {
    const record: SessionRecord = { ...this.live, ...step.state, timers: { ...this.live.timers }, sent: { ...this.live.sent } };
    this.record = record;
    record.seq++;
    const { context } = step.state;
    this.entries.push({
      seq: record.seq,
      at: event.at,
      type: event.type,
      state: stateNameOf(step.state.value),
      queueLength: context.queue.length,
      historyLength: context.history.length,
      historyTokens: historyTokens(context.history),
      detail: describeEvent({ type: event.type, payload: event }, context),
      payload: event,
    });
    for (const effect of step.effects) await this.carryOut(record, effect, event);
    if (step.done) this.done = true;
  }

  private async carryOut(record: SessionRecord, effect: Effect, event: DeliveredEvent): Promise<void> {
    const { ctx } = this;
    switch (effect.type) {
      case 'armTimer': {
        record.timers[effect.id] = { eventType: effect.eventType, dueAt: effect.dueAt };
        const sent = record.sent[effect.id];
        if (sent !== undefined && sent.dueAt <= effect.dueAt) return; // the message on its way is sent on when it fires
        const token = ctx.rand.uuidv4();
        record.sent[effect.id] = { token, dueAt: effect.dueAt };
        // Restate's timer is absolute once sent: a server restart keeps the original due time.
        const delay = Math.max(0, effect.dueAt - this.now);
        ctx.objectSendClient(sessionApi, ctx.key).timer({ id: effect.id, token }, restate.rpc.sendOpts({ delay: { milliseconds: delay } }));
        return;
      }
      case 'disarmTimer':
        delete record.timers[effect.id];
        return;
      case 'requestSlot': {
        const lease = `${ctx.key}/${ctx.rand.uuidv4()}`;
        const release = this.releaseLease ?? undefined;
        this.releaseLease = null;
        const { granted } = await ctx.objectClient(slotsApi, SLOT_POOL_KEY).acquire({
          lease,
          session: ctx.key,
          capacity: this.service.maxConcurrentAgents,
          ...(release === undefined ? {} : { release }),
        });
        record.slot = { lease, granted };
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
      case 'abortAgent':
        // Leaving `processing` before the call answered (deleted, evicted, timed out) cancels its invocation.
        if (record.agent !== null && !record.agent.settled) ctx.cancel(record.agent.invocationId as restate.InvocationId);
        return;
      case 'releaseSlot':
        // The agent call gives its lease back when it ends (after its model call, whichever way it ended).
        record.agent = null;
        return;
    }
  }

  /** Writes what the turn changed: the record (or, once disposed, only what outlives it), the timeline, the index. */
  async finish(): Promise<void> {
    const { ctx } = this;
    this.sendReplies();
    if (this.releaseLease !== null) ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).release({ lease: this.releaseLease });
    this.releaseLease = null;
    const record = this.record;
    if (record === null) return;
    if (this.created) {
      ctx.objectSendClient(indexApi, INDEX_KEY).add({ sessionDbId: this.identity.sessionDbId });
      this.identity = { ...this.identity, status: 'live', disposal: null, summary: null, forgetToken: null };
      ctx.set(IDENTITY, this.identity);
    }
    if (this.done) {
      await this.flushTimeline(record);
      ctx.clear(RECORD);
      this.dispose(record);
      return;
    }
    if (record.seq - record.flushedSeq >= TIMELINE_BATCH) await this.flushTimeline(record);
    else for (const entry of this.entries) ctx.set(pendingKey(entry.seq), entry);
    ctx.set(RECORD, record);
  }

  /**
   * Each reply applied in this turn goes to the memory service, keyed by the session and the seq of its
   * event: the send is an entry of this turn's journal (a replay does not repeat it), and storing it is
   * idempotent on that key (memory-service.ts).
   */
  private sendReplies(): void {
    if (!this.service.memories) return;
    const { identity } = this;
    for (const entry of this.entries) {
      if (entry.type !== REPLY_EVENT) continue;
      const { seq, type, payload, at } = entry;
      const found = replyOf({ sessionDbId: identity.sessionDbId, seq, type, payload, at, session: identity });
      if (found !== undefined) this.ctx.serviceSendClient(memoriesApi).remember(found);
    }
  }

  /** Sends every entry not yet in the timeline object (earlier turns' from their keys, this turn's) as one batch. */
  private async flushTimeline(record: SessionRecord): Promise<void> {
    const { ctx } = this;
    const firstOfTurn = this.entries[0]?.seq ?? record.seq + 1;
    const earlierSeqs: number[] = [];
    for (let seq = record.flushedSeq + 1; seq < firstOfTurn; seq++) earlierSeqs.push(seq);
    const earlier = (await readAll(ctx, earlierSeqs.map(pendingKey))) as (TimelineEntry | null)[];
    for (const seq of earlierSeqs) ctx.clear(pendingKey(seq));
    const batch = [...earlier.filter((entry): entry is TimelineEntry => entry !== null), ...this.entries];
    if (batch.length > 0) ctx.objectSendClient(timelineApi, ctx.key).append({ entries: batch });
    record.flushedSeq = record.seq;
  }

  /** The session object keeps only its identity and work keys; the index and, after the retention period, `forget` hear of it. */
  private dispose(record: SessionRecord): void {
    const { ctx } = this;
    const { context } = record;
    const disposal = context.disposal ?? { reason: 'deleted' as const, at: this.now, droppedItems: 0 };
    const forgetToken = ctx.rand.uuidv4();
    this.identity = {
      ...this.identity,
      status: 'disposed',
      disposal,
      counters: context.counters,
      lastPromptNumber: Math.max(this.identity.lastPromptNumber, context.promptNumber),
      lastSeq: record.seq,
      forgetToken,
    };
    ctx.set(IDENTITY, this.identity);
    ctx.objectSendClient(indexApi, INDEX_KEY).remove({
      sessionDbId: context.sessionDbId,
      contentSessionId: context.contentSessionId,
      project: context.project,
      reason: disposal.reason,
      at: disposal.at,
      droppedItems: disposal.droppedItems,
      counters: context.counters,
      usageByProvider: context.usageByProvider ?? {},
    });
    ctx
      .objectSendClient(sessionApi, ctx.key)
      .forget({ token: forgetToken }, restate.rpc.sendOpts({ delay: { milliseconds: this.service.retentionMs } }));
  }
}
