/**
 * Owns what follows an event a session actor processed: it goes to the journal, `processed` listeners
 * hear it, and its outcome reaches the part it concerns: a disposal is counted, logged and announced; a
 * crashed actor is dropped with its slot; a session settled in `idle` is offered to dormancy.
 * May not: send events to sessions.
 */
import type { InspectionEvent } from 'xstate';
import type { Disposal, SessionContext } from '../../machines/session.machine.js';
import type { Clock } from '../clock/index.js';
import { stateNameOf } from '../session/index.js';
import type { AgentCalls } from './agent-calls.js';
import type { Dormancy } from './dormancy.js';
import { type Journal, processedEvent } from './journal.js';
import type { Listeners } from './listeners.js';
import type { LiveSession } from './live-session.js';
import type { RegistryLogger } from './options.js';
import type { SlotPool } from './slots.js';
import type { RegistryCounters } from './stats.js';

export interface OutcomesOptions {
  readonly clock: Clock;
  readonly logger: RegistryLogger;
  readonly journal: Pick<Journal, 'record' | 'disposed' | 'onCommitted'>;
  readonly listeners: Listeners;
  readonly counters: Pick<RegistryCounters, 'disposed'>;
  readonly dormancy: () => Pick<Dormancy, 'noticeIdle'>;
  readonly slots: Pick<SlotPool, 'cancel' | 'release'>;
  readonly calls: Pick<AgentCalls, 'abort'>;
  /** Takes a session out of the live set. */
  readonly forget: (sessionDbId: number, contentSessionId: string) => void;
  /** Receives every inspection event first (for @statelyai/inspect, or tests). */
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
}

export class Outcomes {
  readonly #options: OutcomesOptions;

  constructor(options: OutcomesOptions) {
    this.#options = options;
  }

  observe(session: LiveSession, inspection: InspectionEvent): void {
    const { inspect, journal, listeners, dormancy } = this.#options;
    inspect?.(inspection);
    const processed = processedEvent(session, inspection);
    if (processed === undefined) {
      // An actor stopped without leaving its state (shutdown, a rolled-back commit): its call goes with it.
      if (isStop(inspection)) this.#options.calls.abort(session.sessionDbId);
      return;
    }
    const at = journal.record(session, processed);
    const { event, snapshot } = processed;
    if (listeners.has('processed')) {
      listeners.emit('processed', { sessionDbId: session.sessionDbId, type: event.type, state: stateNameOf(snapshot.value), at });
    }
    if (snapshot.status === 'done') this.#disposed(snapshot.context.disposal, snapshot.context);
    else if (snapshot.status === 'error') this.#crashed(session, snapshot.error);
    else if (snapshot.hasTag('hibernatable')) dormancy().noticeIdle(session, snapshot.context);
  }

  #disposed(disposal: Disposal | null, context: SessionContext): void {
    const { clock, journal } = this.#options;
    const record: Disposal = disposal ?? { reason: 'deleted', at: clock.now(), droppedItems: 0 };
    journal.disposed(context.sessionDbId, record, { processed: context.counters.processed, failed: context.counters.failed });
    // Announced once the log has it: a disposal whose commit fails is rolled back, and happens again later.
    journal.onCommitted(() => this.#announce(record, context));
  }

  #announce(record: Disposal, context: SessionContext): void {
    const { counters, logger, listeners } = this.#options;
    counters.disposed(record.reason, context.counters, context.usageByProvider);
    logger.info({ sessionDbId: context.sessionDbId, reason: record.reason, droppedItems: record.droppedItems }, 'session disposed');
    listeners.emit('disposed', {
      sessionDbId: context.sessionDbId,
      contentSessionId: context.contentSessionId,
      project: context.project,
      reason: record.reason,
      at: record.at,
      droppedItems: record.droppedItems,
      counters: context.counters,
      usageByProvider: context.usageByProvider ?? {},
    });
  }

  /** A bug in an action: the actor is dead. Drop it rather than keep a zombie in the live set. */
  #crashed(session: LiveSession, error: unknown): void {
    const { logger, forget, slots, calls } = this.#options;
    logger.error({ sessionDbId: session.sessionDbId, err: error }, 'session actor crashed');
    calls.abort(session.sessionDbId);
    forget(session.sessionDbId, session.contentSessionId);
    slots.cancel(session.sessionDbId);
    slots.release(session.sessionDbId);
  }
}

/** The session's own actor was stopped (not a child's stop, not a processed event). */
function isStop(inspection: InspectionEvent): boolean {
  return (
    inspection.type === '@xstate.snapshot' &&
    inspection.actorRef.sessionId === inspection.rootId &&
    (inspection.snapshot as { status: string }).status === 'stopped'
  );
}
