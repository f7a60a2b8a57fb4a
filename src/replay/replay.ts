import { type Actor, type AnyStateNode, createActor, type StateValue } from 'xstate';
import {
  type SessionContext,
  type SessionInput,
  type SessionMachine,
  sessionMachine,
  upgradedContext,
} from '../../machines/session.machine.js';
import { historyTokens } from '../history/index.js';
import { stateNameOf } from '../session/index.js';
import { type EventStore, type LoggedEvent, type StoredSession, UNPARSEABLE } from '../store/index.js';

/**
 * The machine as replay runs it: every effect inert (the machine's own defaults). No agent is called:
 * its answer is in the log as an event of its own.
 */
const replayMachine: SessionMachine = sessionMachine;

/** Replay arms no timer: the log holds every timer event that fired. */
const noTimers = { setTimeout: () => 0, clearTimeout: () => {} };

/** Every event type the machine has a transition for, anywhere, plus actor creation. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = (() => {
  const types = new Set<string>(['xstate.init']);
  const visit = (node: AnyStateNode) => {
    for (const eventType of node.transitions.keys()) types.add(eventType);
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  visit(sessionMachine.root);
  return types;
})();

export interface SkippedEvent {
  readonly seq: number;
  readonly type: string;
  readonly reason: string;
}

export interface ReplayObserver {
  /** After each replayed event, with the state it led to. */
  onEvent?(event: LoggedEvent, value: StateValue, context: SessionContext): void;
  /** An event that could not be replayed (unknown type, unreadable payload, or one the machine rejects). */
  onSkip?(skipped: SkippedEvent): void;
}

type ReplayActor = Actor<SessionMachine>;

/** Replays logged events on an inert actor, one at a time, skipping what cannot be replayed. */
class Replayer {
  #actor: ReplayActor | undefined;
  eventsReplayed = 0;
  readonly skipped: SkippedEvent[] = [];

  constructor(private readonly observer: ReplayObserver = {}) {}

  startFrom(value: StateValue, context: SessionContext): void {
    this.#actor?.stop();
    this.#actor = createActor(replayMachine, {
      input: undefined as unknown as SessionInput,
      snapshot: replayMachine.resolveState({ value, context: upgradedContext(context) }),
      clock: noTimers,
    }).start();
  }

  get snapshot() {
    return this.#actor?.getSnapshot();
  }

  apply(event: LoggedEvent): void {
    const skip = (reason: string) => {
      const skipped = { seq: event.seq, type: event.type, reason };
      this.skipped.push(skipped);
      this.observer.onSkip?.(skipped);
    };
    const payload = event.payload as { type?: unknown; input?: unknown } | null;
    if (!KNOWN_EVENT_TYPES.has(event.type)) {
      skip('unknown event type');
      return;
    }
    if (typeof payload !== 'object' || payload === null || UNPARSEABLE in payload) {
      skip('unreadable payload');
      return;
    }

    if (event.type === 'xstate.init') {
      // A new incarnation of the session: the actor is created afresh from the logged input.
      this.#actor?.stop();
      this.#actor = createActor(replayMachine, { input: payload.input as SessionInput, clock: noTimers }).start();
    } else {
      const actor = this.#actor;
      if (actor === undefined) {
        skip('no xstate.init or snapshot before it');
        return;
      }
      const before = actor.getSnapshot();
      if (before.status !== 'active') {
        skip(`the session was already ${before.status}`);
        return;
      }
      actor.send({ ...payload, type: event.type } as never);
      const after = actor.getSnapshot();
      if (after.status === 'error') {
        skip(`the machine rejected it: ${String((after.error as Error)?.message ?? after.error)}`);
        this.startFrom(before.value, before.context);
        return;
      }
    }
    this.eventsReplayed++;
    const snapshot = this.#actor!.getSnapshot();
    this.observer.onEvent?.(event, snapshot.value, snapshot.context);
  }

  stop(): void {
    this.#actor?.stop();
  }
}

const PAGE = 10_000;

function* eventsOf(store: EventStore, sessionDbId: number, afterSeq: number): Generator<LoggedEvent> {
  let after = afterSeq;
  for (;;) {
    const page = store.readEvents(sessionDbId, { afterSeq: after, limit: PAGE });
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

export interface RebuiltSession {
  readonly session: StoredSession;
  readonly value: StateValue;
  readonly context: SessionContext;
  /** `done` when the log shows the incarnation reached `disposed`. */
  readonly status: 'active' | 'done';
  readonly lastSeq: number;
  /** The snapshot replay started from, if any. */
  readonly fromSnapshotSeq: number | null;
  readonly eventsReplayed: number;
  readonly skipped: readonly SkippedEvent[];
}

/**
 * Rebuilds the current incarnation of a session from its log: from its latest snapshot when there is
 * one (unless `useSnapshot` is false), then the events after it. Undefined when the stream holds
 * nothing to rebuild from.
 */
export function rebuildSession(
  store: EventStore,
  session: StoredSession,
  options: ReplayObserver & { readonly useSnapshot?: boolean } = {},
): RebuiltSession | undefined {
  if (session.incarnationSeq === null) return undefined;
  const replayer = new Replayer(options);
  const snapshot = options.useSnapshot === false ? undefined : store.latestSnapshot(session.sessionDbId);
  const fromSnapshot = snapshot !== undefined && snapshot.seq >= session.incarnationSeq ? snapshot : undefined;
  let lastSeq = fromSnapshot?.seq ?? session.incarnationSeq - 1;
  if (fromSnapshot) replayer.startFrom(fromSnapshot.value, fromSnapshot.context);
  for (const event of eventsOf(store, session.sessionDbId, lastSeq)) {
    replayer.apply(event);
    lastSeq = event.seq;
  }
  const result = replayer.snapshot;
  replayer.stop();
  if (result === undefined) return undefined;
  return {
    session,
    value: result.value,
    context: result.context,
    status: result.status === 'done' ? 'done' : 'active',
    lastSeq,
    fromSnapshotSeq: fromSnapshot?.seq ?? null,
    eventsReplayed: replayer.eventsReplayed,
    skipped: replayer.skipped,
  };
}

/** One line of a session's timeline: an event and what it left behind. */
export interface TimelineEntry {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  /** State after the event, e.g. `active.processing`. */
  readonly state: string;
  readonly queueLength: number;
  readonly historyLength: number;
  readonly historyTokens: number;
  /** What the event carried that explains it: the item, the failure, the disposal reason. */
  readonly detail: string;
}

export interface SessionTimeline {
  readonly session: StoredSession;
  readonly entries: readonly TimelineEntry[];
  readonly skipped: readonly SkippedEvent[];
}

/** Every event of a session's stream, all incarnations, with the state after each: why it went away. */
export function sessionTimeline(store: EventStore, sessionDbId: number): SessionTimeline | undefined {
  const session = store.getSession(sessionDbId);
  if (session === undefined) return undefined;
  const entries: TimelineEntry[] = [];
  const replayer = new Replayer({
    onEvent(event, value, context) {
      entries.push({
        seq: event.seq,
        at: event.at,
        type: event.type,
        state: stateNameOf(value),
        queueLength: context.queue.length,
        historyLength: context.history.length,
        historyTokens: historyTokens(context.history),
        detail: describeEvent(event, context),
      });
    },
  });
  for (const event of eventsOf(store, sessionDbId, 0)) replayer.apply(event);
  replayer.stop();
  return { session, entries, skipped: replayer.skipped };
}

/** What an event carried that explains it (the item, the failure, the disposal reason), in a line. */
export function describeEvent(event: Pick<LoggedEvent, 'type' | 'payload'>, context: SessionContext): string {
  // biome-ignore lint/suspicious/noExplicitAny: a logged payload is JSON of any past version; every read below tolerates absence
  const payload = event.payload as Record<string, any>;
  switch (event.type) {
    case 'xstate.init':
      return `created for ${payload.input?.contentSessionId} (${payload.input?.project || 'no project'})`;
    case 'INIT':
      return `prompt #${payload.promptNumber}: ${clip(payload.prompt)}`;
    case 'WORK_QUEUED':
      return `${payload.item?.kind} ${payload.item?.id}: ${clip(payload.item?.prompt)}`;
    case 'SLOT_GRANTED':
      return context.batchSize > 1 ? `${context.batchSize} items in one call` : '';
    case 'xstate.done.actor.agent': {
      const output = payload.output ?? {};
      const by = output.provider === undefined ? '' : ` by ${output.provider}${output.model === undefined ? '' : ` (${output.model})`}`;
      const usage = output.usage;
      const cost =
        usage === undefined
          ? ''
          : `; ${usage.inputTokens} in, ${usage.outputTokens} out${usage.cacheReadTokens ? `, ${usage.cacheReadTokens} cache read` : ''}${usage.cacheWriteTokens ? `, ${usage.cacheWriteTokens} cache write` : ''}`;
      return `reply${by} (${output.replyTokens} tokens${cost}): ${clip(output.reply)}`;
    }
    case 'xstate.error.actor.agent':
      return `${payload.error?.kind}: ${clip(payload.error?.message)}`;
    case 'EVICT':
      return `reason ${payload.reason}`;
    case 'RECOVER':
      return payload.reason === 'wake' ? 'woken from dormancy' : 'restored after a restart';
    default:
      if (context.disposal !== null && event.type !== 'TOUCH') return `disposed: ${context.disposal.reason}`;
      return '';
  }
}

function clip(text: unknown, max = 60): string {
  const value = String(text ?? '').replace(/\s+/g, ' ');
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
