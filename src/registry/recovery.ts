/**
 * Owns recovery: rebuilding sessions from the log (latest snapshot, then the tail) and resuming them
 * with RECOVER, which re-enters their state so timers count down what remains of their deadlines, a
 * slot is asked for again, and an interrupted agent call is retried.
 * After a failed commit it also puts the sessions that commit touched back to what the log holds, and
 * resumes them once the log can be written again.
 * May not: append anything itself but the disposal record of a stream found finished; the resumed
 * actors log their own events.
 */
import type { SessionSettings } from '../../machines/session.machine.js';
import type { Clock } from '../clock/index.js';
import { type RebuiltSession, rebuildSession, type SkippedEvent } from '../replay/index.js';
import { stateNameOf } from '../session/index.js';
import type { EventStore, StoredSession } from '../store/index.js';
import { type ActorFactory, LiveSession } from './live-session.js';
import type { RegistryLogger } from './options.js';
import type { SessionTable } from './session-table.js';
import type { SlotPool } from './slots.js';
import type { RecoveryReport } from './types.js';

export interface RecoveryOptions {
  readonly store: EventStore;
  readonly sessions: SessionTable;
  readonly actors: ActorFactory;
  readonly clock: Clock;
  /** Restored sessions adopt the settings of this process. */
  readonly settings: SessionSettings;
  readonly logger: RegistryLogger;
  /** Called once every live stream is restored: evicts down to this run's capacity. */
  readonly fitToCapacity: () => void;
  readonly slots: Pick<SlotPool, 'cancel' | 'release'>;
  /** Takes a session out of the live set. */
  readonly forget: (sessionDbId: number, contentSessionId: string) => void;
}

export class Recovery {
  readonly #options: RecoveryOptions;
  /** Sessions put back to what the log holds after a failed commit, to restore once it can be written. */
  readonly #rolledBack = new Set<number>();

  constructor(options: RecoveryOptions) {
    this.#options = options;
  }

  async recoverAll(): Promise<RecoveryReport> {
    const { store, sessions, logger } = this.#options;
    const started = performance.now();
    const restored: Record<string, number> = {};
    const skipped: (SkippedEvent & { sessionDbId: number })[] = [];
    let eventsReplayed = 0;
    let fromSnapshots = 0;
    let count = 0;
    for (const stored of store.liveSessions()) {
      if (sessions.has(stored.sessionDbId)) continue;
      const live = this.restore(stored, (rebuilt) => {
        const state = stateNameOf(rebuilt.value);
        restored[state] = (restored[state] ?? 0) + 1;
        eventsReplayed += rebuilt.eventsReplayed;
        if (rebuilt.fromSnapshotSeq !== null) fromSnapshots++;
        for (const event of rebuilt.skipped) skipped.push({ ...event, sessionDbId: stored.sessionDbId });
      });
      if (live !== undefined) count++;
    }
    this.#options.fitToCapacity();
    await store.flush();
    const report = { restored, sessions: count, eventsReplayed, fromSnapshots, skipped, durationMs: performance.now() - started };
    logger.info({ ...report, skipped: skipped.length }, 'sessions recovered from the log');
    return report;
  }

  /**
   * Rebuilds one session from the log and resumes it. Undefined when the log shows it disposed (its
   * bookkeeping is then completed).
   */
  restore(stored: StoredSession, report?: (rebuilt: RebuiltSession) => void): LiveSession | undefined {
    const { store, sessions, actors, clock, settings, logger } = this.#options;
    const rebuilt = rebuildSession(store, stored, {
      onSkip: (event) =>
        logger.warn({ sessionDbId: stored.sessionDbId, ...event }, 'skipped an event the log holds but this version cannot replay'),
    });
    if (rebuilt === undefined) return undefined;
    report?.(rebuilt);
    if (rebuilt.status === 'done') {
      const disposal = rebuilt.context.disposal ?? { reason: 'deleted' as const, at: clock.now(), droppedItems: 0 };
      store.sessionDisposed(stored.sessionDbId, disposal, rebuilt.context.counters);
      return undefined;
    }
    const session = new LiveSession(
      stored.sessionDbId,
      stored.contentSessionId,
      rebuilt.fromSnapshotSeq ?? stored.incarnationSeq ?? 0,
      actors,
    );
    sessions.add(session);
    session.resume(rebuilt.value, rebuilt.context);
    session.send({ type: 'RECOVER', at: clock.now(), reason: 'restart', settings });
    return session;
  }

  /**
   * A commit failed: these sessions go back to what the log holds. An awake one's actor stops (which
   * aborts its agent call); each is held frozen at the log's state, so it is still seen as it is, and
   * nothing can change it until the log can be written again (see restoreRolledBack).
   */
  rollBack(sessionDbIds: readonly number[]): void {
    const { sessions, store, slots, forget, actors, logger } = this.#options;
    for (const sessionDbId of sessionDbIds) {
      const live = sessions.get(sessionDbId);
      live?.stop();
      slots.cancel(sessionDbId);
      slots.release(sessionDbId);
      const stored = store.getSession(sessionDbId);
      const rebuilt = stored?.status === 'live' && stored.incarnationSeq !== null ? rebuildSession(store, stored) : undefined;
      if (stored === undefined || rebuilt === undefined || rebuilt.status === 'done') {
        // The log never had it live (created by the failed commit), or has it disposed already.
        if (live !== undefined) forget(sessionDbId, live.contentSessionId);
        continue;
      }
      const session =
        live ?? new LiveSession(sessionDbId, stored.contentSessionId, rebuilt.fromSnapshotSeq ?? stored.incarnationSeq ?? 0, actors);
      session.freeze(rebuilt.value, rebuilt.context);
      if (live === undefined) sessions.add(session);
      this.#rolledBack.add(sessionDbId);
    }
    logger.warn({ sessions: sessionDbIds.length }, 'a commit failed: its sessions are back to what the log holds');
  }

  /** The log can be written again: the frozen sessions resume from it, timers and queues as it has them. */
  restoreRolledBack(): void {
    const { sessions, store } = this.#options;
    for (const sessionDbId of this.#rolledBack) {
      const frozen = sessions.get(sessionDbId);
      if (frozen === undefined || !frozen.frozen) continue;
      sessions.remove(sessionDbId, frozen.contentSessionId);
      const stored = store.getSession(sessionDbId);
      if (stored !== undefined) this.restore(stored);
    }
    this.#rolledBack.clear();
  }
}
