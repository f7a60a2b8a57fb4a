import type { Actor, StateValue } from 'xstate';
import type { SessionContext, SessionEvent, SessionInput, SessionMachine } from '../../machines/session.machine.js';
import { DORMANT_STATE, IDLE_TIMER_EVENT } from '../../machines/session.states.js';

export type SessionActor = Actor<SessionMachine>;

/** What callers send a session: every event stamped with the registry clock's `at`. */
export type OutsideEvent = Extract<SessionEvent, { readonly at: number }>;

/** What the registry reads of a session, awake or dormant. */
export interface SessionState {
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly value: StateValue;
  readonly context: SessionContext;
}

/** How the registry makes an actor for a session: fresh from input, or resuming a state it had. */
export interface ActorFactory {
  create(
    session: LiveSession,
    from: { readonly input: SessionInput } | { readonly value: StateValue; readonly context: SessionContext },
  ): SessionActor;
}

/**
 * One live session. Awake, it is an xstate actor. Dormant (idle for a while), it is only the context
 * of its last snapshot: no actor, no timer (the registry's DeadlineTimer wakes it at its deadline), a
 * few hundred bytes instead of several kilobytes. Any event wakes it first; the wake is a logged
 * RECOVER, which re-enters `idle` so that its timer is armed again with what remains.
 * Frozen (a commit of its events failed), it is the state the log holds, without an actor, until the
 * log can be written again and it is restored from there; nothing may be sent to it meanwhile.
 */
export class LiveSession {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  /** Resumed from a state: its actor's start is not a new `xstate.init` and is not logged as one. */
  resumed = false;
  /** Seq of the event the latest logged snapshot follows. */
  snapshotSeq: number;
  /** A check for whether it has been idle long enough to go dormant is pending (one at a time). */
  sleepCheckPending = false;
  /** Where in the journal's count of recorded events its latest work (an item, a prompt) was logged. */
  workMark = 0;
  readonly #factory: ActorFactory;
  #actor: SessionActor | undefined;
  #dormant: SessionContext | undefined;
  #frozen: { readonly value: StateValue; readonly context: SessionContext } | undefined;

  constructor(sessionDbId: number, contentSessionId: string, snapshotSeq: number, factory: ActorFactory) {
    this.sessionDbId = sessionDbId;
    this.contentSessionId = contentSessionId;
    this.snapshotSeq = snapshotSeq;
    this.#factory = factory;
  }

  start(input: SessionInput): void {
    this.#actor = this.#factory.create(this, { input });
    this.#actor.start();
  }

  /** Resumes a state rebuilt from the log; the caller sends RECOVER to re-arm its timers. */
  resume(value: StateValue, context: SessionContext): void {
    this.resumed = true;
    this.#actor = this.#factory.create(this, { value, context });
    this.#actor.start();
  }

  get dormant(): boolean {
    return this.#dormant !== undefined;
  }

  get frozen(): boolean {
    return this.#frozen !== undefined;
  }

  state(): SessionState {
    if (this.#frozen !== undefined) return { status: 'active', ...this.#frozen };
    if (this.#dormant !== undefined) return { status: 'active', value: DORMANT_STATE, context: this.#dormant };
    return this.#actor!.getSnapshot();
  }

  send(event: OutsideEvent): void {
    if (this.#frozen !== undefined) throw new Error(`session ${this.sessionDbId} is frozen until the log can be written`);
    if (this.#dormant !== undefined) this.wake(event.at);
    this.#actor!.send(event);
  }

  /** The agent's outcome. Only an awake session has a call in flight. */
  deliver(event: SessionEvent): void {
    this.#actor?.send(event);
  }

  /** Lets go of the actor of an idle session; false if the session is not idle (anymore). */
  hibernate(): boolean {
    const snapshot = this.#actor?.getSnapshot();
    if (snapshot === undefined || snapshot.status !== 'active' || !snapshot.hasTag('hibernatable')) return false;
    this.#dormant = snapshot.context;
    this.#actor!.stop();
    this.#actor = undefined;
    return true;
  }

  wake(at: number): void {
    const context = this.#dormant;
    if (context === undefined) return;
    this.#dormant = undefined;
    this.resume(DORMANT_STATE, context);
    this.#actor!.send({ type: 'RECOVER', at, reason: 'wake' });
  }

  /**
   * Its idle deadline has come while it slept: the actor is resumed and given the very event its own
   * idle timer would have delivered, at the time it would have (logged and replayed like any timer).
   */
  wakeAtDeadline(): void {
    const context = this.#dormant;
    if (context === undefined) return;
    this.#dormant = undefined;
    this.resume(DORMANT_STATE, context);
    this.#actor!.send({ type: IDLE_TIMER_EVENT } as unknown as SessionEvent);
  }

  /** Holds the session at the state the log has for it, without an actor (see the class comment). */
  freeze(value: StateValue, context: SessionContext): void {
    this.#actor?.stop();
    this.#actor = undefined;
    this.#dormant = undefined;
    this.#frozen = { value, context };
  }

  /** Stops the actor without disposing the session (shutdown): the log keeps it for the next start. */
  stop(): void {
    this.#actor?.stop();
  }
}
