/**
 * Owns dormancy: an idle session untouched for `hibernateAfterMs` gives up its actor and is held as its
 * last context; it is woken by work, or at its idle deadline. One DeadlineTimer serves every sleep
 * check and every dormant deadline.
 * May not: admit, evict or dispose sessions; log anything but the dormant snapshot (through the journal).
 */

import type { SessionContext } from '../../machines/session.machine.js';
import { hasTag } from '../../machines/session.states.js';
import type { Clock } from '../clock/index.js';
import { DeadlineTimer } from './deadlines.js';
import type { Journal } from './journal.js';
import type { LiveSession } from './live-session.js';
import type { SessionTable } from './session-table.js';

export interface DormancyOptions {
  readonly clock: Clock;
  readonly hibernateAfterMs: number | false;
  readonly sessions: SessionTable;
  readonly journal: Pick<Journal, 'snapshotDormant'>;
  /** True once the registry is shutting down: nothing sleeps or wakes then. */
  readonly closing: () => boolean;
}

export class Dormancy {
  readonly #options: DormancyOptions;
  readonly #timer: DeadlineTimer;

  constructor(options: DormancyOptions) {
    this.#options = options;
    this.#timer = new DeadlineTimer(options.clock, (sessionDbId) => this.#due(sessionDbId));
  }

  /** The session settled in `idle`: check, once it has been quiet long enough, whether it may sleep. */
  noticeIdle(session: LiveSession, context: SessionContext): void {
    const { hibernateAfterMs } = this.#options;
    if (session.sleepCheckPending || hibernateAfterMs === false) return;
    session.sleepCheckPending = true;
    this.#timer.schedule(session.sessionDbId, context.lastActivityAt + hibernateAfterMs);
  }

  /** Forgets every pending check and deadline (entries of gone sessions are otherwise only outlived). */
  clear(): void {
    this.#timer.clear();
  }

  /** A session's time has come: an awake one idle long enough goes dormant; a dormant one wakes at its deadline. */
  #due(sessionDbId: number): void {
    const { sessions, clock, hibernateAfterMs, closing } = this.#options;
    const session = sessions.get(sessionDbId);
    if (session === undefined || session.frozen || closing()) return;
    const now = clock.now();
    const { context, value } = session.state();
    if (session.dormant) {
      if ((context.idleDeadline ?? now) <= now) session.wakeAtDeadline();
      return;
    }
    session.sleepCheckPending = false;
    if (!hasTag({ value }, 'hibernatable') || hibernateAfterMs === false) return;
    const sleepAt = context.lastActivityAt + hibernateAfterMs;
    const deadline = context.idleDeadline ?? Infinity;
    if (sleepAt > now) {
      // Activity since the check was scheduled: check again when it has been quiet long enough (lazily).
      session.sleepCheckPending = true;
      this.#timer.schedule(sessionDbId, sleepAt);
    } else if (deadline > now && session.hibernate()) {
      // (At or past its deadline it would only be woken to expire: not worth it.)
      this.#timer.schedule(sessionDbId, deadline);
      this.#options.journal.snapshotDormant(session, context, now);
    }
  }
}
