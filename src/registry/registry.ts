/**
 * The registry's public face: `createSessionRegistry` and the commands callers send (init, enqueue,
 * touch, complete, delete), each turned into one event to one session actor and acknowledged once the
 * log has it. It wires the parts beside it, each of which says what it owns:
 *   session-table  the live set               admission  who may be live; capacity and memory shedding
 *   dormancy       sleeping and waking        recovery   rebuilding sessions from the log
 *   journal        processed events → log     outcomes   what follows each processed event
 *   machine        what the statechart asks of the world (agent, slots, delays)
 *   stats          counts, stats()            listeners  on() and delivery
 * May not: write the log itself (the actors' events reach it through outcomes and the journal).
 */
import type { SessionEvent, SessionMachine } from '../../machines/session.machine.js';
import type { Clock } from '../clock/index.js';
import { describeSession, type SessionView } from '../session/index.js';
import { type CompactionReport, createEphemeralStore, type EventStore, EventStoreError } from '../store/index.js';
import { Admission } from './admission.js';
import { Dormancy } from './dormancy.js';
import { Journal, type LogHealth } from './journal.js';
import { Listeners } from './listeners.js';
import type { ActorFactory, LiveSession } from './live-session.js';
import { provideSessionMachine, sessionActors } from './machine.js';
import { type ResolvedOptions, resolveOptions, type SessionRegistryOptions } from './options.js';
import { Outcomes } from './outcomes.js';
import { Recovery } from './recovery.js';
import { SessionTable } from './session-table.js';
import { SlotPool } from './slots.js';
import { RegistryCounters } from './stats.js';
import type {
  CommandResult,
  EnqueueResult,
  InitResult,
  PromptRequest,
  RecoveryReport,
  Refusal,
  RegistryEvents,
  RegistryStats,
  SessionRegistry,
  SessionTarget,
  ShutdownReport,
  WorkRequest,
} from './types.js';

export function createSessionRegistry(options: SessionRegistryOptions): SessionRegistry {
  return new Registry(resolveOptions(options));
}

class Registry implements SessionRegistry {
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #store: EventStore;
  readonly #sessions = new SessionTable();
  readonly #listeners: Listeners;
  readonly #counters = new RegistryCounters();
  readonly #slots: SlotPool;
  readonly #actors: ActorFactory;
  readonly #journal: Journal;
  readonly #admission: Admission;
  readonly #dormancy: Dormancy;
  readonly #recovery: Recovery;
  readonly #outcomes: Outcomes;
  #slotsFrozen = false;
  #closing: Promise<ShutdownReport> | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    const { clock, logger } = options;
    this.#clock = clock;
    this.#store = options.store ?? createEphemeralStore();
    this.#listeners = new Listeners(logger);
    this.#slots = new SlotPool({
      capacity: options.maxConcurrentAgents,
      clock,
      grant: (sessionDbId, waitedMs) => this.#grantSlot(sessionDbId, waitedMs),
      // No agent call starts on work that is not durable: slots are handed out after the commit.
      schedule: (pump) => this.#journal.whenDurable(pump),
    });
    const machine: SessionMachine = provideSessionMachine({
      agent: options.agent,
      estimateTokens: options.estimateTokens,
      clock,
      slots: this.#slots,
      expiring: (notice) => this.#listeners.emit('expiring', notice),
      removed: (sessionDbId, contentSessionId) => this.#forget(sessionDbId, contentSessionId),
    });
    this.#actors = sessionActors(machine, clock, (session, event) => this.#outcomes.observe(session, event));
    this.#journal = new Journal({
      store: this.#store,
      clock,
      logger,
      snapshotEvery: options.snapshotEvery,
      retentionMs: options.retentionMs,
      compactionIntervalMs: options.store === undefined ? false : options.compactionIntervalMs,
      probeIntervalMs: options.writeProbeIntervalMs,
      rollBack: (sessionDbIds) => this.#recovery.rollBack(sessionDbIds),
      recovered: () => this.#recovery.restoreRolledBack(),
    });
    this.#dormancy = new Dormancy({
      clock,
      hibernateAfterMs: options.hibernateAfterMs,
      sessions: this.#sessions,
      journal: this.#journal,
      closing: () => this.#closing !== undefined,
    });
    this.#outcomes = new Outcomes({
      clock,
      logger,
      journal: this.#journal,
      listeners: this.#listeners,
      counters: this.#counters,
      dormancy: () => this.#dormancy,
      slots: this.#slots,
      forget: (sessionDbId, contentSessionId) => this.#forget(sessionDbId, contentSessionId),
      inspect: options.inspect,
    });
    this.#recovery = new Recovery({
      store: this.#store,
      sessions: this.#sessions,
      actors: this.#actors,
      clock,
      settings: options.settings,
      logger,
      slots: this.#slots,
      forget: (sessionDbId, contentSessionId) => this.#forget(sessionDbId, contentSessionId),
      fitToCapacity: () => this.#admission.fitToCapacity(),
    });
    this.#admission = new Admission({
      sessions: this.#sessions,
      store: this.#store,
      actors: this.#actors,
      recovery: this.#recovery,
      counters: this.#counters,
      settings: options.settings,
      maxActiveSessions: options.maxActiveSessions,
      retryAfterMs: options.retryAfterMs,
      clock,
      logger,
      memoryPressure: options.memoryPressure,
    });
  }

  // ── commands ──────────────────────────────────────────────────────────────────────────────────

  init(target: SessionTarget, request: PromptRequest): Promise<InitResult> {
    return this.#durably((at) => {
      const acquired = this.#admission.acquire(target, at);
      if (!acquired.ok) return acquired;
      const { session, created } = acquired;
      const context = session.state().context;
      const promptNumber = request.promptNumber ?? context.promptNumber + 1;
      if (promptNumber > context.promptNumber && context.queue.length >= this.#options.maxQueuedItems) return this.#queueFull();
      this.#send(session, {
        type: 'INIT',
        prompt: request.prompt,
        promptTokens: this.#options.estimateTokens(request.prompt),
        promptNumber,
        at,
      });
      return { ok: true, sessionDbId: session.sessionDbId, promptNumber, created };
    });
  }

  enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult> {
    return this.#durably((at): EnqueueResult => {
      // A retry of work the log already has (however long ago, across restarts) queues nothing, and
      // revives nothing: it is answered as the first time was.
      if (work.toolUseId !== undefined) {
        const known = this.#sessions.find(target)?.sessionDbId ?? this.#storedSession(target)?.sessionDbId;
        if (known !== undefined && this.#store.hasWorkKey(known, work.toolUseId)) {
          const queueLength = this.#sessions.get(known)?.state().context.queue.length ?? 0;
          return { ok: true, status: 'duplicate', sessionDbId: known, queueLength };
        }
      }
      const acquired = this.#admission.acquire(target, at);
      if (!acquired.ok) return acquired;
      const { session } = acquired;
      const before = session.state().context;
      if (before.queue.length >= this.#options.maxQueuedItems) return this.#queueFull();
      const queuedBefore = before.counters.queued;
      this.#send(session, {
        type: 'WORK_QUEUED',
        item: {
          id: work.toolUseId ?? `${work.kind}-${queuedBefore + 1}-${at}`,
          kind: work.kind,
          prompt: work.prompt,
          promptTokens: this.#options.estimateTokens(work.prompt),
          ...(work.toolUseId === undefined ? {} : { toolUseId: work.toolUseId }),
          queuedAt: at,
        },
        at,
      });
      const context = session.state().context;
      return {
        ok: true,
        status: context.counters.queued > queuedBefore ? 'queued' : 'duplicate',
        sessionDbId: session.sessionDbId,
        queueLength: context.queue.length,
      };
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
    const session = this.#sessions.find(target);
    return session === undefined ? undefined : viewOf(session);
  }

  list(): SessionView[] {
    return [...this.#sessions.values()].map(viewOf);
  }

  stats(): RegistryStats {
    return this.#counters.stats(this.#sessions.values(), this.#sessions.size, this.#slots.stats());
  }

  on<K extends keyof RegistryEvents>(event: K, listener: (payload: RegistryEvents[K]) => void): () => void {
    return this.#listeners.on(event, listener);
  }

  // ── upkeep ────────────────────────────────────────────────────────────────────────────────────

  health(): LogHealth {
    return this.#journal.health();
  }

  checkMemoryPressure(): void {
    this.#admission.checkMemoryPressure();
  }

  recover(): Promise<RecoveryReport> {
    return this.#recovery.recoverAll();
  }

  compact(): CompactionReport {
    return this.#journal.compact();
  }

  shutdown(options: { readonly drainMs?: number } = {}): Promise<ShutdownReport> {
    this.#closing ??= this.#shutdown(options.drainMs ?? 0);
    return this.#closing;
  }

  // ── routing ───────────────────────────────────────────────────────────────────────────────────

  #command(target: SessionTarget, event: (at: number) => SessionEvent): Promise<CommandResult> {
    return this.#durably((at): CommandResult => {
      const session = this.#sessions.find(target);
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
    const failure = this.#journal.failure;
    if (failure !== null) return this.#unwritable(failure);
    let result: T | Refusal;
    try {
      result = act(this.#clock.now());
      await this.#store.flush();
    } catch (error) {
      if (error instanceof EventStoreError && error.code === 'write-failed') return this.#unwritable(error);
      throw error;
    }
    return result;
  }

  #unwritable(error: EventStoreError): Refusal {
    this.#counters.refused('log-unwritable');
    return { ok: false, error: 'log-unwritable', message: error.message, retryAfterMs: this.#options.writeProbeIntervalMs };
  }

  #storedSession(target: SessionTarget) {
    return 'sessionDbId' in target ? this.#store.getSession(target.sessionDbId) : this.#store.findSession(target.contentSessionId);
  }

  /** Outside events mark recency: the table's order is what capacity eviction scans first. */
  #send(session: LiveSession, event: SessionEvent): void {
    this.#sessions.markRecent(session);
    session.send(event);
  }

  #queueFull(): Refusal {
    this.#counters.refused('queue-full');
    return { ok: false, error: 'queue-full', retryAfterMs: this.#options.retryAfterMs };
  }

  #grantSlot(sessionDbId: number, waitedMs: number): boolean {
    if (this.#slotsFrozen) return false;
    const session = this.#sessions.get(sessionDbId);
    if (session === undefined || session.dormant || session.frozen) return false;
    session.send({ type: 'SLOT_GRANTED', at: this.#clock.now() });
    const state = session.state();
    const took =
      state.status === 'active' && typeof state.value === 'object' && (state.value as { active?: string }).active === 'processing';
    if (took) this.#listeners.emit('slotGranted', { sessionDbId, waitedMs });
    return took;
  }

  #forget(sessionDbId: number, contentSessionId: string): void {
    this.#sessions.remove(sessionDbId, contentSessionId);
    // Entries of disposed sessions are only outlived; with nobody left, drop them all at once.
    if (this.#sessions.size === 0) this.#dormancy.clear();
  }

  // ── shutdown ──────────────────────────────────────────────────────────────────────────────────

  async #shutdown(drainMs: number): Promise<ShutdownReport> {
    this.#admission.stop();
    this.#journal.stop();
    this.#slotsFrozen = true;
    if (drainMs > 0 && this.#slots.stats().inUse > 0) await this.#drain(drainMs);
    const abortedAgentCalls = this.#slots.stats().inUse;
    const stopped = this.#sessions.size;
    for (const session of this.#sessions.values()) session.stop();
    this.#dormancy.clear();
    this.#sessions.clear();
    this.#slots.clear();
    try {
      await this.#store.flush();
    } catch (error) {
      // Whatever did not commit is not in the log; the sessions resume from what is.
      this.#options.logger.error({ err: error }, 'the last commit before shutdown failed');
    }
    return { stopped, abortedAgentCalls };
  }

  /** Resolves when no agent call is in flight, or when `drainMs` has passed. */
  #drain(drainMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = this.#clock.now() + drainMs;
      const poll = () => {
        if (this.#slots.stats().inUse === 0 || this.#clock.now() >= deadline) resolve();
        else this.#clock.setTimeout(poll, Math.min(20, Math.max(1, deadline - this.#clock.now())));
      };
      poll();
    });
  }
}

function viewOf(session: LiveSession): SessionView {
  const state = session.state();
  return describeSession(state.value, state.context);
}
