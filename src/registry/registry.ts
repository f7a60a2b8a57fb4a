/**
 * The registry's public face: `createSessionRegistry` and the commands callers send (init, enqueue,
 * touch, complete, delete), each turned into one event to one session actor and acknowledged once the
 * log has it; slot grants; shutdown. The parts beside it (wired in parts.ts) each say what they own:
 *   session-table  the live set               admission  who may be live; capacity and memory shedding
 *   dormancy       sleeping and waking        recovery   rebuilding sessions from the log
 *   journal        processed events → log     outcomes   what follows each processed event
 *   machine        what the statechart asks of the world (agent call, slots, delays)
 *   agent-calls    the agent calls in flight
 *   stats          counts, stats()            listeners  on() and delivery
 * May not: write the log itself (the actors' events reach it through outcomes and the journal).
 */
import { hasPublicPrompt, promptEvent, screenWork, workEvent, workStatus } from '../../machines/session.commands.js';
import { hasTag } from '../../machines/session.states.js';
import type { Clock } from '../clock/index.js';
import type {
  CommandResult,
  EngineHealth,
  EnqueueResult,
  InitResult,
  PromptRequest,
  Refusal,
  SessionTarget,
  WorkRequest,
} from '../engine/index.js';
import { describeSession, type SessionView } from '../session/index.js';
import { type CompactionReport, type EventStore, EventStoreError } from '../store/index.js';
import type { LiveSession, OutsideEvent } from './live-session.js';
import { type ResolvedOptions, resolveOptions, type SessionRegistryOptions } from './options.js';
import { assembleParts, type RegistryParts } from './parts.js';
import type { RecoveryReport, RegistryEvents, RegistryStats, SessionRegistry, ShutdownReport } from './types.js';

export function createSessionRegistry(options: SessionRegistryOptions): SessionRegistry {
  return new Registry(resolveOptions(options));
}

class Registry implements SessionRegistry {
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #store: EventStore;
  readonly #parts: RegistryParts;
  #closing: Promise<ShutdownReport> | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#parts = assembleParts(options, {
      grantSlot: (sessionDbId, waitedMs) => this.#grantSlot(sessionDbId, waitedMs),
      closing: () => this.#closing !== undefined,
    });
    this.#store = this.#parts.store;
  }

  // ── commands ──────────────────────────────────────────────────────────────────────────────────

  init(target: SessionTarget, request: PromptRequest): Promise<InitResult> {
    return this.#durably((at) => {
      const acquired = this.#parts.admission.acquire(target, at);
      if (!acquired.ok) return acquired;
      const { session, created } = acquired;
      const command = promptEvent(session.state().context, request, this.#options, at);
      if (!command.ok) return this.#queueFull();
      this.#send(session, command.event);
      return { ok: true, sessionDbId: session.sessionDbId, promptNumber: command.promptNumber, created };
    });
  }

  enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult> {
    return this.#durably((at): EnqueueResult => {
      // What the log knows, however long ago and across restarts: read only when the rule asks.
      const live = this.#parts.sessions.find(target);
      const stored = lazy(() => this.#storedSession(target));
      const store = this.#store;
      const screened = screenWork(work, {
        get prompted() {
          return hasPublicPrompt(stored()?.lastPromptNumber ?? 0, live?.state().context);
        },
        get knownToolUse() {
          const known = live?.sessionDbId ?? stored()?.sessionDbId;
          return known !== undefined && store.hasWorkKey(known, work.toolUseId!);
        },
      });
      if (screened === 'not-prompted') return { ok: false, error: 'not-prompted' };
      if (screened === 'duplicate') {
        // Answered as the first time was: it queues nothing and revives nothing.
        const sessionDbId = (live?.sessionDbId ?? stored()?.sessionDbId)!;
        const queueLength = this.#parts.sessions.get(sessionDbId)?.state().context.queue.length ?? 0;
        return { ok: true, status: 'duplicate', sessionDbId, queueLength };
      }
      const acquired = this.#parts.admission.acquire(target, at);
      if (!acquired.ok) return acquired;
      const { session } = acquired;
      const before = session.state().context;
      const command = workEvent(before, work, this.#options, at);
      if (!command.ok) return this.#queueFull();
      this.#send(session, command.event);
      const after = session.state().context;
      return { ok: true, status: workStatus(before, after), sessionDbId: session.sessionDbId, queueLength: after.queue.length };
    });
  }

  touch(target: SessionTarget): Promise<CommandResult> {
    return this.#command(target, (at) => ({ type: 'TOUCH', at }));
  }

  complete(target: SessionTarget): Promise<CommandResult> {
    return this.#command(target, (at) => ({ type: 'COMPLETE', at }));
  }

  delete(target: SessionTarget): Promise<CommandResult> {
    return this.#command(target, (at) => ({ type: 'DELETE', at }));
  }

  // ── reading ───────────────────────────────────────────────────────────────────────────────────

  get(target: SessionTarget): SessionView | undefined {
    const session = this.#parts.sessions.find(target);
    return session === undefined ? undefined : viewOf(session);
  }

  list(): SessionView[] {
    return [...this.#parts.sessions.values()].map(viewOf);
  }

  stats(): RegistryStats {
    return this.#parts.counters.stats(this.#parts.sessions.values(), this.#parts.sessions.size, this.#parts.slots.stats());
  }

  on<K extends keyof RegistryEvents>(event: K, listener: (payload: RegistryEvents[K]) => void): () => void {
    return this.#parts.listeners.on(event, listener);
  }

  // ── upkeep ────────────────────────────────────────────────────────────────────────────────────

  health(): EngineHealth {
    return this.#parts.journal.health();
  }

  checkMemoryPressure(): void {
    this.#parts.admission.checkMemoryPressure();
  }

  recover(): Promise<RecoveryReport> {
    return this.#parts.recovery.recoverAll();
  }

  compact(): CompactionReport {
    return this.#parts.journal.compact();
  }

  shutdown(options: { readonly drainMs?: number } = {}): Promise<ShutdownReport> {
    this.#closing ??= this.#shutdown(options.drainMs ?? 0);
    return this.#closing;
  }

  // ── routing ───────────────────────────────────────────────────────────────────────────────────

  #command(target: SessionTarget, event: (at: number) => OutsideEvent): Promise<CommandResult> {
    return this.#durably((at): CommandResult => {
      const session = this.#parts.sessions.find(target);
      if (session === undefined) return { ok: false, error: 'not-found' };
      this.#send(session, event(at));
      return { ok: true, sessionDbId: session.sessionDbId };
    });
  }

  /**
   * Runs a command and answers once what it logged is durable. While the log cannot be written, or
   * when the commit fails, the answer is a refusal and nothing of the command is left anywhere (the
   * journal rolls the sessions it touched back to what the log holds).
   */
  async #durably<T extends { readonly ok: true }>(act: (at: number) => T | Refusal): Promise<T | Refusal> {
    if (this.#closing) return { ok: false, error: 'shutting-down' };
    const failure = this.#parts.journal.failure;
    if (failure !== null) return this.#unwritable(failure);
    let result: T | Refusal;
    try {
      result = act(this.#clock.now());
      await this.#parts.journal.flush();
    } catch (error) {
      if (error instanceof EventStoreError && error.code === 'write-failed') return this.#unwritable(error);
      throw error;
    }
    return result;
  }

  #unwritable(error: EventStoreError): Refusal {
    this.#parts.counters.refused('log-unwritable');
    return { ok: false, error: 'log-unwritable', message: error.message, retryAfterMs: this.#options.writeProbeIntervalMs };
  }

  #storedSession(target: SessionTarget) {
    return 'sessionDbId' in target ? this.#store.getSession(target.sessionDbId) : this.#store.findSession(target.contentSessionId);
  }

  /** Outside events mark recency: the table's order is what capacity eviction scans first. */
  #send(session: LiveSession, event: OutsideEvent): void {
    this.#parts.sessions.markRecent(session);
    session.send(event);
  }

  #queueFull(): Refusal {
    this.#parts.counters.refused('queue-full');
    return { ok: false, error: 'queue-full', retryAfterMs: this.#options.retryAfterMs };
  }

  #grantSlot(sessionDbId: number, waitedMs: number): boolean {
    const session = this.#parts.sessions.get(sessionDbId);
    if (session === undefined || session.dormant || session.frozen) return false;
    session.send({ type: 'SLOT_GRANTED', at: this.#clock.now() });
    // It took the slot if it is now calling its agent (a session that moved on answers false: the slot goes on).
    const took = hasTag(session.state(), 'agent-call');
    if (took) this.#parts.listeners.emit('slotGranted', { sessionDbId, waitedMs });
    return took;
  }

  // ── shutdown ──────────────────────────────────────────────────────────────────────────────────

  async #shutdown(drainMs: number): Promise<ShutdownReport> {
    this.#parts.admission.stop();
    this.#parts.journal.stop();
    this.#parts.slots.freeze();
    if (drainMs > 0) await this.#parts.slots.drain(drainMs);
    const abortedAgentCalls = this.#parts.slots.stats().inUse;
    const stopped = this.#parts.sessions.size;
    for (const session of this.#parts.sessions.values()) session.stop();
    this.#parts.calls.abortAll();
    this.#parts.dormancy.clear();
    this.#parts.sessions.clear();
    this.#parts.slots.clear();
    try {
      await this.#store.flush();
    } catch (error) {
      // Whatever did not commit is not in the log; the sessions resume from what is.
      this.#options.logger.error({ err: error }, 'the last commit before shutdown failed');
    }
    return { stopped, abortedAgentCalls };
  }
}

/** `read()` once, when first asked. */
function lazy<T>(read: () => T): () => T {
  let value: { readonly is: T } | undefined;
  return () => {
    value ??= { is: read() };
    return value.is;
  };
}

function viewOf(session: LiveSession): SessionView {
  const state = session.state();
  return describeSession(state.value, state.context);
}
