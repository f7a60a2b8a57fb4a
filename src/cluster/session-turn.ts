import * as restate from '@restatedev/restate-sdk';
import type { SessionContext } from '../../machines/session.machine.js';
import { hasTag, stateNameOf } from '../../machines/session.states.js';
import type { ResolvedSessionOptions } from '../engine/index.js';
import { REPLY_EVENT, replyOf } from '../memories/index.js';
import { describeEvent } from '../replay/index.js';
import { agentApi, INDEX_KEY, indexApi, memoriesApi, SLOT_POOL_KEY, sessionApi, slotsApi, timelineApi } from './handles.js';
import { type DeliveredEvent, type Effect, type Step, startMachine, stepMachine } from './machine.js';
import {
  HISTORY,
  historySize,
  IDENTITY,
  type IdentityRecord,
  type IdentitySeed,
  identityFor,
  joinRecord,
  needsHistory,
  pendingKey,
  RECORD,
  readAll,
  type SessionRecord,
  type StoredRecord,
  storedRecord,
  UNREAD_HISTORY,
  unreadHistoryLooksSoFar,
} from './session-state.js';
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

export type { IdentityRecord, IdentitySeed, SessionRecord } from './session-state.js';

/** Timeline entries sent to the timeline object together: one invocation there per this many events. */
export const TIMELINE_BATCH = 16;

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
    /** The history key as read (undefined: not read, or empty): written back only if the turn changed it. */
    private storedHistory: SessionContext['history'] | undefined,
    /** Whether the record's context holds the real history (read, or a new incarnation's), not UNREAD_HISTORY. */
    private historyRead: boolean,
    /** The values of the `also` keys asked for at load, in their order. */
    readonly also: readonly unknown[],
  ) {}

  /**
   * The session's live record and the values of `also` (a work key), in one round trip to the server;
   * the identity comes with the record while the session is live, and is read on its own otherwise. The
   * history is not read here: only a step that uses it reads it (see `step`). Null when the session was
   * never opened. A `seed` (from the directory opening the content session) gives a session without an
   * identity its identity in this turn. `at`: the time of the command as its caller took it (the worker's
   * clock when the hook call arrived), or else Restate's journaled clock (one more entry in its log).
   */
  static async load(
    ctx: restate.ObjectContext,
    service: SessionServiceSettings,
    options: { readonly also?: readonly string[]; readonly seed?: IdentitySeed; readonly at?: number } = {},
  ): Promise<SessionTurn | null> {
    const [stored, ...values] = (await readAll(ctx, [RECORD, ...(options.also ?? [])])) as [StoredRecord | null, ...unknown[]];
    let identity = stored?.identity ?? ((await ctx.get<IdentityRecord>(IDENTITY)) as IdentityRecord | null);
    if (options.seed !== undefined) {
      const seeded = identityFor(ctx.key, identity, options.seed);
      if (identity === null) ctx.set(IDENTITY, seeded);
      identity = seeded;
    }
    if (identity === null) return null;
    // An earlier version's record is read with its history (and rewritten without it by this turn).
    const legacy = stored !== null && needsHistory(stored);
    const history = legacy ? ((await ctx.get<SessionContext['history']>(HISTORY)) as SessionContext['history'] | null) : null;
    const record = stored === null ? null : joinRecord(stored, history ?? (legacy ? [] : UNREAD_HISTORY));
    const now = options.at ?? (await ctx.date.now());
    return new SessionTurn(ctx, service, identity, record, now, history ?? undefined, legacy, values);
  }

  /** Reads the history into the record's context, once per turn. */
  private async readHistory(): Promise<void> {
    if (this.historyRead) return;
    const history = ((await this.ctx.get<SessionContext['history']>(HISTORY)) as SessionContext['history'] | null) ?? [];
    this.record = { ...this.live, context: { ...this.live.context, history } };
    this.storedHistory = history;
    this.historyRead = true;
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
    this.record = {
      ...step.state,
      timers: {},
      sent: {},
      slot: null,
      agent: null,
      seq: identity.lastSeq,
      flushedSeq: identity.lastSeq,
      historySize: historySize(step.state.context.history),
    };
    // A new incarnation's history is its own (empty): nothing to read, written at the end of the turn.
    this.historyRead = true;
    this.storedHistory = undefined;
    this.created = true;
    await this.apply(step, { type: 'xstate.init', at: now, input } as DeliveredEvent);
  }

  /**
   * One event through the machine. Without the history first: if the step left it as it was and starts
   * no agent call (queued work, a touch, a timer), that is the step; otherwise (a batch formed, a reply
   * applied, a refusal) the history is read and the event stepped again with it. The machine decides
   * nothing on the history's content, only appends to it, cuts it and hands it to the agent, so both
   * steps take the same transition; should a guard or an action ever look inside it, the stand-in counts
   * the look and the event is stepped again with the real history.
   */
  async step(event: DeliveredEvent): Promise<void> {
    const looksBefore = unreadHistoryLooksSoFar();
    let step = stepMachine(this.live, event);
    const lookedInside = unreadHistoryLooksSoFar() !== looksBefore;
    if (
      !this.historyRead &&
      (lookedInside || step.state.context.history !== UNREAD_HISTORY || step.effects.some((e) => e.type === 'startAgent'))
    ) {
      await this.readHistory();
      step = stepMachine(this.live, event);
    }
    await this.apply(step, event);
    // A slot granted in the answer to its request: the session takes it in this same turn.
    const record = this.record;
    if (record?.slot?.granted && hasTag(record, 'slot-request')) await this.step({ type: 'SLOT_GRANTED', at: this.now });
  }

  private async apply(step: Step, event: DeliveredEvent): Promise<void> {
    const previous = this.live;
    const record: SessionRecord = { ...previous, ...step.state, timers: { ...previous.timers }, sent: { ...previous.sent } };
    this.record = record;
    record.seq++;
    const { context } = step.state;
    if (this.historyRead && context.history !== previous.context.history) record.historySize = historySize(context.history);
    this.entries.push({
      seq: record.seq,
      at: event.at,
      type: event.type,
      state: stateNameOf(step.state.value),
      queueLength: context.queue.length,
      historyLength: record.historySize.length,
      historyTokens: record.historySize.tokens,
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
        const request = {
          lease,
          session: ctx.key,
          capacity: this.service.maxConcurrentAgents,
          ...(release === undefined ? {} : { release }),
        };
        if (record.slotFree === true) {
          const answer = await ctx.objectClient(slotsApi, SLOT_POOL_KEY).acquire(request);
          record.slot = { lease, granted: answer.granted };
          record.slotFree = answer.free > 0;
        } else {
          ctx.objectSendClient(slotsApi, SLOT_POOL_KEY).acquire({ ...request, grantByMessage: true });
          record.slot = { lease, granted: false };
        }
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
      ctx.clear(HISTORY);
      this.dispose(record);
      return;
    }
    if (record.seq - record.flushedSeq >= TIMELINE_BATCH) await this.flushTimeline(record);
    else for (const entry of this.entries) ctx.set(pendingKey(entry.seq), entry);
    // The record without its history, which is written only when this turn changed it.
    ctx.set(RECORD, storedRecord(record, this.identity));
    if (this.historyRead && record.context.history !== this.storedHistory) ctx.set(HISTORY, record.context.history);
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
