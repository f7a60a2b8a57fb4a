/**
 * Owns what goes to the log and whether it can: every event a session actor processed (read off
 * xstate's inspection stream), the snapshot policy (every `snapshotEvery` events of a session, and when
 * it goes dormant), the record of a disposal, the periodic compaction of disposed streams; and the
 * log's health. A failed commit makes the log unwritable until a probe write succeeds again; the
 * sessions that commit touched are handed to `rollBack`, and work that waits for durability waits.
 * May not: decide anything about a session's lifecycle or the live set; it only writes down what happened.
 */

import type { AnyEventObject, InspectionEvent } from 'xstate';
import { asAgentFailure, type Disposal, type SessionContext } from '../../machines/session.machine.js';
import { DORMANT_STATE } from '../../machines/session.states.js';
import { type Clock, unrefTimer } from '../clock/index.js';
import type { SessionSnapshot } from '../session/index.js';
import type { CommitFailure, CompactionReport, DisposalCounts, EventStore, EventStoreError } from '../store/index.js';
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
  /** While the log cannot be written, how often a probe write checks whether it can again. */
  readonly probeIntervalMs: number;
  /** A commit failed: put these sessions back to what the log holds. */
  readonly rollBack: (sessionDbIds: readonly number[]) => void;
  /** A probe write succeeded after a failure: the log is writable again. */
  readonly recovered: () => void;
}

/** Whether the log can be written; when not, why, and since when. */
export interface LogHealth {
  readonly writable: boolean;
  readonly location: string;
  /** The failure that made it unwritable (names the cause and the file). */
  readonly error: string | null;
  readonly since: number | null;
  /** Writes that failed since this process started: commits, and probes while the log could not be written. */
  readonly failedWrites: number;
}

export class Journal {
  readonly #options: JournalOptions;
  readonly #stopListening: () => void;
  #compactionTimer: unknown;
  #probeTimer: unknown;
  #failure: { error: EventStoreError; since: number } | null = null;
  #failedWrites = 0;
  /** What waits for the log to be writable again (slot grants). */
  #waitingForWrites: (() => void)[] = [];
  /** Events recorded so far, and how many of them are known to be committed (a safe under-estimate). */
  #recorded = 0;
  #durableThrough = 0;

  constructor(options: JournalOptions) {
    this.#options = options;
    this.#stopListening = options.store.onCommitFailure((failure) => this.#failed(failure));
    if (options.compactionIntervalMs !== false) this.#armCompaction(options.compactionIntervalMs);
  }

  get writable(): boolean {
    return this.#failure === null;
  }

  /** Why the log cannot be written, or null. */
  get failure(): EventStoreError | null {
    return this.#failure?.error ?? null;
  }

  health(): LogHealth {
    return {
      writable: this.#failure === null,
      location: this.#options.store.location,
      error: this.#failure?.error.message ?? null,
      since: this.#failure?.since ?? null,
      failedWrites: this.#failedWrites,
    };
  }

  /**
   * Runs `run` once everything logged so far is committed; if that commit fails, once the log is
   * writable again. What it starts (an agent call) then never acts on work that is not durable.
   */
  whenDurable(run: () => void): void {
    if (this.#failure !== null) {
      this.#waitingForWrites.push(run);
      return;
    }
    // Asked from inside a transition (a slot request is an entry action), before the event that caused
    // it is appended: look at what is pending only once that transition is over.
    queueMicrotask(() => this.flush().then(run, () => this.#waitingForWrites.push(run)));
  }

  /** Commits what is buffered; settles once everything recorded before the call is durable (or rejects). */
  flush(): Promise<void> {
    const through = this.#recorded;
    return this.#options.store.flush().then(() => {
      if (through > this.#durableThrough) this.#durableThrough = through;
    });
  }

  /** Whether the work this session has queued so far is known to be committed. */
  workIsDurable(session: LiveSession): boolean {
    return session.workMark <= this.#durableThrough;
  }

  /** Runs `announce` once everything logged so far is committed; dropped with that commit if it fails. */
  onCommitted(announce: () => void): void {
    this.#options.store.flush().then(announce, () => {});
  }

  /** Appends the processed event to the session's stream; returns the time it was logged at. */
  record(session: LiveSession, { event, snapshot }: ProcessedEvent): number {
    const { store, clock, snapshotEvery } = this.#options;
    const at = clock.now();
    this.#recorded++;
    if (event.type === 'WORK_QUEUED' || event.type === 'INIT') session.workMark = this.#recorded;
    const workKey = event.type === 'WORK_QUEUED' ? (event.item as { toolUseId?: string } | undefined)?.toolUseId : undefined;
    const seq = store.append(session.sessionDbId, {
      type: event.type,
      payload: loggable(event, at),
      at,
      ...(workKey === undefined ? {} : { workKey }),
    });
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
      store.saveSnapshot(session.sessionDbId, { seq, value: DORMANT_STATE, context, at });
      session.snapshotSeq = seq;
    }
  }

  disposed(sessionDbId: number, disposal: Disposal, counts: DisposalCounts): void {
    this.#options.store.sessionDisposed(sessionDbId, disposal, counts);
  }

  compact(): CompactionReport {
    const { store, clock, retentionMs, logger } = this.#options;
    if (this.#failure !== null) return { compacted: 0, eventsRemoved: 0 };
    const now = clock.now();
    const report = store.compact(now - retentionMs, now);
    if (report.compacted > 0) logger.info({ ...report }, 'compacted the streams of disposed sessions');
    return report;
  }

  stop(): void {
    const { clock } = this.#options;
    if (this.#compactionTimer !== undefined) clock.clearTimeout(this.#compactionTimer);
    if (this.#probeTimer !== undefined) clock.clearTimeout(this.#probeTimer);
    this.#compactionTimer = undefined;
    this.#probeTimer = undefined;
    this.#waitingForWrites = [];
    this.#stopListening();
  }

  #failed(failure: CommitFailure): void {
    const { logger, clock } = this.#options;
    this.#failedWrites++;
    if (this.#failure === null) {
      this.#failure = { error: failure.error, since: clock.now() };
      logger.error(
        { err: failure.error, sessions: failure.sessions.length },
        'the event log cannot be written: refusing new work until it can',
      );
      this.#armProbe();
    }
    if (failure.sessions.length > 0) this.#options.rollBack(failure.sessions);
  }

  #armProbe(): void {
    const { clock, store, logger, probeIntervalMs } = this.#options;
    this.#probeTimer = clock.setTimeout(() => {
      this.#probeTimer = undefined;
      try {
        store.probeWrite();
      } catch {
        this.#armProbe();
        return;
      }
      const downMs = clock.now() - (this.#failure?.since ?? clock.now());
      this.#failure = null;
      logger.info({ downMs }, 'the event log can be written again: taking work');
      this.#options.recovered();
      const waiting = this.#waitingForWrites;
      this.#waitingForWrites = [];
      for (const run of waiting) this.whenDurable(run);
    }, probeIntervalMs);
    unrefTimer(this.#probeTimer);
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
