/**
 * Owns what goes to the log: every event a session actor processed (read off xstate's inspection
 * stream), the snapshot policy (every `snapshotEvery` events of a session, and when it goes dormant),
 * the record of a disposal, and the periodic compaction of disposed streams.
 * May not: decide anything about a session's lifecycle or the live set; it only writes down what happened.
 */
import type { AnyEventObject, InspectionEvent } from 'xstate';
import { asAgentFailure, type Disposal, type SessionContext } from '../../machines/session.machine.js';
import { type Clock, unrefTimer } from '../clock/index.js';
import type { SessionSnapshot } from '../session/index.js';
import type { CompactionReport, DisposalCounts, EventStore } from '../store/index.js';
import type { LiveSession } from './live-session.js';
import type { RegistryLogger } from './options.js';

export interface ProcessedEvent {
  readonly event: AnyEventObject;
  readonly snapshot: SessionSnapshot;
}

/**
 * The event a session's root actor just processed, or undefined for inspection events that are not
 * one: child actors, a stop, and the start of an actor resumed from a state (a restart or a wake is
 * not a creation; the RECOVER that follows is what gets logged).
 */
export function processedEvent(session: LiveSession, inspection: InspectionEvent): ProcessedEvent | undefined {
  if (inspection.type !== '@xstate.snapshot' || inspection.actorRef.sessionId !== inspection.rootId) return undefined;
  const snapshot = inspection.snapshot as SessionSnapshot;
  if (snapshot.status === 'stopped') return undefined;
  if (session.resumed && inspection.event.type === 'xstate.init') {
    session.resumed = false;
    return undefined;
  }
  return { event: inspection.event, snapshot };
}

export interface JournalOptions {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly logger: RegistryLogger;
  readonly snapshotEvery: number;
  readonly retentionMs: number;
  /** How often disposed streams are compacted; `false` for a store the caller did not give (nothing to keep). */
  readonly compactionIntervalMs: number | false;
}

export class Journal {
  readonly #options: JournalOptions;
  #compactionTimer: unknown;

  constructor(options: JournalOptions) {
    this.#options = options;
    if (options.compactionIntervalMs !== false) this.#armCompaction(options.compactionIntervalMs);
  }

  get store(): EventStore {
    return this.#options.store;
  }

  /** Appends the processed event to the session's stream; returns the time it was logged at. */
  record(session: LiveSession, { event, snapshot }: ProcessedEvent): number {
    const { store, clock, snapshotEvery } = this.#options;
    const at = clock.now();
    const seq = store.append(session.sessionDbId, { type: event.type, payload: loggable(event, at), at });
    // Dormancy takes a snapshot too (see snapshotDormant), so most of what a restart finds costs a
    // snapshot and next to no replay.
    if (seq > 0 && snapshot.status === 'active' && seq - session.snapshotSeq >= snapshotEvery) {
      store.saveSnapshot(session.sessionDbId, { seq, value: snapshot.value, context: snapshot.context, at });
      session.snapshotSeq = seq;
    }
    return at;
  }

  /** A dormant session's state, logged if anything happened since the last snapshot: recovery then replays nothing. */
  snapshotDormant(session: LiveSession, context: SessionContext, at: number): void {
    const { store } = this.#options;
    const seq = store.getSession(session.sessionDbId)?.lastSeq ?? 0;
    if (seq > session.snapshotSeq) {
      store.saveSnapshot(session.sessionDbId, { seq, value: 'idle', context, at });
      session.snapshotSeq = seq;
    }
  }

  disposed(sessionDbId: number, disposal: Disposal, counts: DisposalCounts): void {
    this.#options.store.sessionDisposed(sessionDbId, disposal, counts);
  }

  compact(): CompactionReport {
    const { store, clock, retentionMs, logger } = this.#options;
    const now = clock.now();
    const report = store.compact(now - retentionMs, now);
    if (report.compacted > 0) logger.info({ ...report }, 'compacted the streams of disposed sessions');
    return report;
  }

  stop(): void {
    if (this.#compactionTimer !== undefined) this.#options.clock.clearTimeout(this.#compactionTimer);
    this.#compactionTimer = undefined;
  }

  #armCompaction(intervalMs: number): void {
    this.#compactionTimer = this.#options.clock.setTimeout(() => {
      try {
        this.compact();
      } catch (error) {
        this.#options.logger.error({ err: error }, 'compaction failed; it will be tried again');
      }
      this.#armCompaction(intervalMs);
    }, intervalMs);
    unrefTimer(this.#compactionTimer);
  }
}

/** The event as the log keeps it: plain JSON, failures normalised. */
function loggable(event: { type: string }, at: number): unknown {
  if (event.type.startsWith('xstate.error.actor.')) {
    const { error, ...rest } = event as { type: string; error: unknown };
    return { ...rest, error: asAgentFailure(error, at) };
  }
  return event;
}
