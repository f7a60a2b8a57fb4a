/**
 * What a session object keeps in its state keys, and how a turn reads it. Each read of a key and each
 * write is an entry in Restate's log, so a turn reads one key (the record, which carries a copy of the
 * identity while the session is live) and writes only what changed: the record, the new timeline
 * entries, a work key, and the history only when the turn changed it (an agent's reply, a batch formed),
 * never with the events that only queue work.
 * May not: call other services, run the machine.
 */
import * as restate from '@restatedev/restate-sdk';
import type { SessionContext, SessionCounters } from '../../machines/session.machine.js';
import type { IdentityRow } from '../engine/index.js';
import { historyTokens } from '../history/index.js';
import type { MachineState } from './machine.js';

export const RECORD = 'session';
/** The live record's history: a key of its own, read by the turns whose events use it. */
export const HISTORY = 'history';
export const IDENTITY = 'identity';
export const pendingKey = (seq: number) => `t:${seq}`;
export const workKey = (toolUseId: string) => `w:${toolUseId}`;

type History = SessionContext['history'];

/** The history's size, kept in the record so that a turn that does not read the history still logs it with each event. */
export interface HistorySize {
  readonly length: number;
  readonly tokens: number;
}

export const historySize = (history: History): HistorySize => ({ length: history.length, tokens: historyTokens(history) });

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
  /**
   * The slot pool had a slot free when it last answered this session (or granted it one): the next
   * request is a call, granted in its answer. Otherwise (or unknown) it goes one way and the grant comes
   * as a message, so that the hook call that queued the work does not wait in the pool's queue behind
   * every other session's requests while the slots are busy. Only a hint: either way the pool's rule decides.
   */
  slotFree?: boolean;
  /** The agent call of the current attempt; it owns the lease from here on. */
  agent: { readonly callId: string; readonly invocationId: string; settled: boolean } | null;
  seq: number;
  /** Timeline entries up to this seq are in the timeline object; the later ones are `t:<seq>` keys here. */
  flushedSeq: number;
  historySize: HistorySize;
}

/** Who a session is and how its stream stands: kept across incarnations and after disposal (what the embedded log keeps as its session row). */
export interface IdentityRecord extends IdentityRow {
  readonly counters: SessionCounters | null;
  /** The pending `forget` of the last disposal; a revival clears it. */
  readonly forgetToken: string | null;
}

/**
 * The record as its key holds it: the context without its history, and the identity as it stands while
 * the session is live. Records written by earlier versions carry the history inside and no identity or
 * size; they are read whole and rewritten in this form by their next turn.
 */
export type StoredRecord = Omit<SessionRecord, 'context' | 'historySize'> & {
  readonly context: Omit<SessionContext, 'history'> & { readonly history?: History };
  readonly identity?: IdentityRecord;
  readonly historySize?: HistorySize;
};

let unreadHistoryLooks = 0;
const countLook = () => {
  unreadHistoryLooks++;
};

/**
 * Stands in the context for a history a turn has not read (frozen: the machine never changes it in
 * place). Every look inside it (a property read, `in`, listing its keys, describing a property) is
 * counted (`unreadHistoryLooks`), so that a step whose guards or actions read the history, which the
 * machine does not do today, is noticed and taken again with the real one rather than decided on an
 * empty stand-in.
 */
export const UNREAD_HISTORY: History = new Proxy(Object.freeze([]), {
  get(target, property, receiver) {
    countLook();
    return Reflect.get(target, property, receiver);
  },
  has(target, property) {
    countLook();
    return Reflect.has(target, property);
  },
  ownKeys(target) {
    countLook();
    return Reflect.ownKeys(target);
  },
  getOwnPropertyDescriptor(target, property) {
    countLook();
    return Reflect.getOwnPropertyDescriptor(target, property);
  },
}) as unknown as History;

/** How many times anything has looked inside UNREAD_HISTORY (compared before and after a step). */
export const unreadHistoryLooksSoFar = () => unreadHistoryLooks;

/** The record's stored form. */
export function storedRecord(record: SessionRecord, identity: IdentityRecord): StoredRecord {
  const { history: _history, ...context } = record.context;
  return { ...record, context, identity };
}

/**
 * The live record from its key, with `history` joined in (UNREAD_HISTORY when not read) and the size it
 * has; an earlier version's record gives its own history back (and its size).
 */
export function joinRecord(stored: StoredRecord, history: History): SessionRecord {
  const { identity: _identity, historySize: size, ...rest } = stored;
  const joined = stored.context.history ?? history;
  return { ...rest, context: { ...stored.context, history: joined }, historySize: size ?? historySize(joined) } as SessionRecord;
}

/** Whether a record must be read with its history: written by an earlier version (no size kept, or the history inside). */
export const needsHistory = (stored: StoredRecord) => stored.historySize === undefined || stored.context.history !== undefined;

/**
 * Several state keys read at once. With lazy state each read is a round trip to the server; they go out
 * together. (`ctx.get` returns Restate's own promise, which must be combined with its `all`, not the
 * global one: awaiting two of them separately at once fails in the SDK.)
 */
export function readAll(ctx: restate.ObjectContext | restate.ObjectSharedContext, keys: readonly string[]): Promise<unknown[]> {
  const reads = keys.map((key) => ctx.get<unknown>(key) as unknown as restate.RestatePromise<unknown>);
  return restate.RestatePromise.all(reads) as unknown as Promise<unknown[]>;
}

/** The live record, history included, for the shared handlers (the session's view, an audit): both keys in one round trip. */
export async function readRecord(ctx: restate.ObjectSharedContext): Promise<SessionRecord | null> {
  const [stored, history] = (await readAll(ctx, [RECORD, HISTORY])) as [StoredRecord | null, History | null];
  return stored === null ? null : joinRecord(stored, history ?? []);
}

/** Who a new session is, as the directory gives it when it opens the content session. */
export interface IdentitySeed {
  readonly contentSessionId: string;
  readonly project: string;
  readonly at: number;
}

/**
 * The identity a session object keeps when asked to take `seed`'s: the one it has if it is the same
 * content session's, a new one if it has none. An id already given to another content session is a
 * bug or a forged call (an id the counter never handed out): refused, never merged into that session.
 */
export function identityFor(key: string, known: IdentityRecord | null, seed: IdentitySeed): IdentityRecord {
  if (known === null) return newIdentity(key, seed);
  if (known.contentSessionId !== seed.contentSessionId) {
    throw new restate.TerminalError(
      `session ${key} belongs to content session ${JSON.stringify(known.contentSessionId)}, not ${JSON.stringify(seed.contentSessionId)}`,
      { errorCode: 409 },
    );
  }
  return known;
}

/** The identity a session object starts with: numbered by its key, no prompt or event yet. */
export function newIdentity(key: string, seed: IdentitySeed): IdentityRecord {
  return {
    sessionDbId: Number(key),
    contentSessionId: seed.contentSessionId,
    project: seed.project,
    createdAt: seed.at,
    lastPromptNumber: 0,
    lastSeq: 0,
    status: 'live',
    disposal: null,
    counters: null,
    summary: null,
    forgetToken: null,
  };
}
