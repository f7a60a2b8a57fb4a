import { createActor, fromPromise, type InspectionEvent } from 'xstate';
import {
  type AgentFailure,
  type AgentInput,
  type AgentOutput,
  asAgentFailure,
  type Disposal,
  type DisposalReason,
  type EvictionReason,
  type Lifecycle,
  type SessionContext,
  type SessionCounters,
  type SessionEvent,
  type SessionMachine,
  sessionMachine,
  type WorkKind,
  ZERO_COUNTERS,
} from '../../machines/session.machine.js';
import { AgentError } from '../agents/index.js';
import { type Clock, unrefTimer } from '../clock/index.js';
import { rebuildSession, type SkippedEvent } from '../replay/index.js';
import { describeSession, lifecycleOf, type SessionSnapshot, type SessionView, stateNameOf } from '../session/index.js';
import { type CompactionReport, createEphemeralStore, type EventStore, type StoredSession } from '../store/index.js';
import { DeadlineTimer } from './deadlines.js';
import { type ActorFactory, LiveSession, type SessionState } from './live-session.js';
import { startMemoryMonitor } from './memory.js';
import { type ResolvedOptions, resolveOptions, type SessionRegistryOptions } from './options.js';
import { SlotPool, type SlotPoolStats } from './slots.js';

/** Names a session by its durable id, or by the content session id the hooks know it by. */
export type SessionTarget = { readonly sessionDbId: number } | { readonly contentSessionId: string; readonly project?: string };

export interface PromptRequest {
  readonly prompt: string;
  /** Omitted: the next number. A number the session already saw is a repeat and only counts as activity. */
  readonly promptNumber?: number;
}

export interface WorkRequest {
  readonly kind: Exclude<WorkKind, 'prompt'>;
  readonly prompt: string;
  /** A hook's tool_use_id: a second item with the same id is not queued. */
  readonly toolUseId?: string;
}

export type Refusal =
  | { readonly ok: false; readonly error: 'not-found' }
  | { readonly ok: false; readonly error: 'at-capacity'; readonly retryAfterMs: number }
  /** The session already holds `maxQueuedItems` unprocessed items (its provider may be paused). */
  | { readonly ok: false; readonly error: 'queue-full'; readonly retryAfterMs: number }
  | { readonly ok: false; readonly error: 'shutting-down' };

export type InitResult =
  | { readonly ok: true; readonly sessionDbId: number; readonly promptNumber: number; readonly created: boolean }
  | Refusal;

export type EnqueueResult =
  | {
      readonly ok: true;
      readonly status: 'queued' | 'duplicate';
      readonly sessionDbId: number;
      readonly queueLength: number;
    }
  | Refusal;

export type CommandResult = { readonly ok: true; readonly sessionDbId: number } | Refusal;

export interface SessionDisposed {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly reason: DisposalReason;
  readonly at: number;
  readonly droppedItems: number;
  readonly counters: SessionCounters;
}

export interface SessionExpiring {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly graceDeadline: number;
}

/** Every event a session processed, as it went to the log. */
export interface SessionEventProcessed {
  readonly sessionDbId: number;
  readonly type: string;
  readonly state: string;
  readonly at: number;
}

export interface SlotGranted {
  readonly sessionDbId: number;
  readonly waitedMs: number;
}

export interface RegistryEvents {
  disposed: SessionDisposed;
  expiring: SessionExpiring;
  processed: SessionEventProcessed;
  slotGranted: SlotGranted;
}

export interface RegistryStats {
  readonly live: number;
  /** Live sessions idle long enough to be held without an actor (see `hibernateAfterMs`). */
  readonly dormant: number;
  readonly byLifecycle: Readonly<Record<Exclude<Lifecycle, 'disposed'>, number>>;
  readonly byState: Readonly<Record<string, number>>;
  readonly slots: SlotPoolStats;
  readonly disposals: Readonly<Record<DisposalReason, number>>;
  readonly refusedAtCapacity: number;
  /** Work refused because its session's queue was full. */
  readonly refusedQueueFull: number;
  /** Summed over every session this registry has run, live and disposed. */
  readonly totals: SessionCounters;
}

export interface ShutdownReport {
  /** Sessions stopped without being disposed: the log has them for the next start. */
  readonly stopped: number;
  /** Agent calls still in flight when the drain period ended, aborted through their signals. */
  readonly abortedAgentCalls: number;
}

export interface RecoveryReport {
  /** Sessions restored, by the state the log left them in (before RECOVER re-armed them). */
  readonly restored: Readonly<Record<string, number>>;
  readonly sessions: number;
  readonly eventsReplayed: number;
  /** Sessions whose replay started from a snapshot rather than from their creation. */
  readonly fromSnapshots: number;
  /** Events that could not be replayed (unknown type, unreadable payload), skipped with a warning. */
  readonly skipped: readonly (SkippedEvent & { readonly sessionDbId: number })[];
  readonly durationMs: number;
}

export interface SessionRegistry {
  /** Starts (or revives) a session with a user prompt, which becomes its next work item. */
  init(target: SessionTarget, request: PromptRequest): Promise<InitResult>;
  /** Queues work; a session that is not live is revived, or created for an unknown content session. */
  enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult>;
  /** Activity without work: pushes the idle deadline out, revives an expiring session. */
  touch(target: SessionTarget): Promise<CommandResult>;
  /** Drains the queue, then disposes with reason `completed`. */
  complete(target: SessionTarget): Promise<CommandResult>;
  /** Disposes at once with reason `deleted`; queued items are dropped (and counted). */
  delete(target: SessionTarget): Promise<CommandResult>;
  get(target: SessionTarget): SessionView | undefined;
  list(): SessionView[];
  stats(): RegistryStats;
  on<K extends keyof RegistryEvents>(event: K, listener: (payload: RegistryEvents[K]) => void): () => void;
  /** Evicts idle sessions now if the heap is over the limit (the monitor also does so on its own). */
  checkMemoryPressure(): void;
  /**
   * Rebuilds every session the log shows live (from its latest snapshot, then the tail) and resumes it:
   * timers count down what remained of their deadlines, queued work is taken up again. A session that is
   * addressed before `recover()` ran is restored on the spot, so no acknowledged work is ever shadowed.
   */
  recover(): Promise<RecoveryReport>;
  /** Compacts streams of sessions disposed more than `retentionMs` ago (also runs every `compactionIntervalMs`). */
  compact(): CompactionReport;
  /**
   * Stops every actor without disposing it. In-flight agent calls get `drainMs` to finish (no new call
   * starts meanwhile), then are aborted. Resolves once the log is flushed.
   */
  shutdown(options?: { readonly drainMs?: number }): Promise<ShutdownReport>;
}

export function createSessionRegistry(options: SessionRegistryOptions): SessionRegistry {
  return new Registry(resolveOptions(options));
}

/** Adds `b` into `sum`, in place: stats() walks every live session, so no object per session. */
function addInto(sum: { -readonly [K in keyof SessionCounters]: number }, b: SessionCounters): void {
  for (const key of Object.keys(b) as (keyof SessionCounters)[]) sum[key] += b[key];
}

class Registry implements SessionRegistry {
  readonly #options: ResolvedOptions;
  readonly #clock: Clock;
  readonly #store: EventStore;
  readonly #machine: SessionMachine;
  readonly #slots: SlotPool;
  /** Live sessions, least recently addressed first (an entry moves to the end on every outside event). */
  readonly #sessions = new Map<number, LiveSession>();
  readonly #byContentId = new Map<string, number>();
  readonly #listeners: { [K in keyof RegistryEvents]: Set<(payload: RegistryEvents[K]) => void> } = {
    disposed: new Set(),
    expiring: new Set(),
    processed: new Set(),
    slotGranted: new Set(),
  };
  readonly #disposals: Record<DisposalReason, number> = {
    ttl: 0,
    completed: 0,
    deleted: 0,
    capacity: 0,
    'memory-pressure': 0,
  };
  readonly #memoryMonitor: { stop(): void; check(): void } | undefined;
  #compactionTimer: unknown;
  /** Wakes dormant sessions at their deadlines and puts long-idle ones to sleep: one timer for all. */
  readonly #deadlines: DeadlineTimer;
  readonly #actors: ActorFactory;
  readonly #retiredCounters = { ...ZERO_COUNTERS };
  #refusedAtCapacity = 0;
  #refusedQueueFull = 0;
  #slotsFrozen = false;
  #closing: Promise<ShutdownReport> | undefined;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#store = options.store ?? createEphemeralStore();
    this.#slots = new SlotPool({
      capacity: options.maxConcurrentAgents,
      clock: options.clock,
      grant: (sessionDbId, waitedMs) => this.#grantSlot(sessionDbId, waitedMs),
    });
    this.#machine = this.#provideMachine();
    this.#actors = {
      create: (session, from) =>
        createActor(this.#machine, {
          ...('input' in from
            ? { input: from.input }
            : { input: undefined as never, snapshot: this.#machine.resolveState({ value: from.value, context: from.context }) }),
          clock: this.#clock,
          inspect: (event) => this.#observe(session, event),
        }),
    };
    this.#deadlines = new DeadlineTimer(options.clock, (sessionDbId) => this.#onDeadline(sessionDbId));
    if (options.memoryPressure !== false) {
      const memory = options.memoryPressure;
      this.#memoryMonitor = startMemoryMonitor({
        clock: options.clock,
        intervalMs: memory.intervalMs,
        limitPercent: memory.limitPercent,
        targetPercent: memory.targetPercent,
        read: memory.read,
        liveSessions: () => this.#sessions.size,
        shed: (surplus, usage) => this.#shed(surplus, usage),
      });
    }
    if (options.store !== undefined) this.#armCompaction();
  }

  // ── public surface ────────────────────────────────────────────────────────────────────────────

  async init(target: SessionTarget, request: PromptRequest): Promise<InitResult> {
    if (this.#closing) return { ok: false, error: 'shutting-down' };
    const at = this.#clock.now();
    const acquired = this.#acquire(target, at);
    if (!acquired.ok) return acquired;
    const { session, created } = acquired;
    const context = this.#contextOf(session);
    const promptNumber = request.promptNumber ?? context.promptNumber + 1;
    if (promptNumber > context.promptNumber && context.queue.length >= this.#options.maxQueuedItems) return this.#queueFull();
    this.#send(session, {
      type: 'INIT',
      prompt: request.prompt,
      promptTokens: this.#options.estimateTokens(request.prompt),
      promptNumber,
      at,
    });
    await this.#store.flush();
    return { ok: true, sessionDbId: session.sessionDbId, promptNumber, created };
  }

  async enqueue(target: SessionTarget, work: WorkRequest): Promise<EnqueueResult> {
    if (this.#closing) return { ok: false, error: 'shutting-down' };
    const at = this.#clock.now();
    const acquired = this.#acquire(target, at);
    if (!acquired.ok) return acquired;
    const { session } = acquired;
    const before = this.#contextOf(session);
    if (before.queue.length >= this.#options.maxQueuedItems) return this.#queueFull();
    const queuedBefore = before.counters.queued;
    const id = work.toolUseId ?? `${work.kind}-${queuedBefore + 1}-${at}`;
    this.#send(session, {
      type: 'WORK_QUEUED',
      item: {
        id,
        kind: work.kind,
        prompt: work.prompt,
        promptTokens: this.#options.estimateTokens(work.prompt),
        ...(work.toolUseId === undefined ? {} : { toolUseId: work.toolUseId }),
        queuedAt: at,
      },
      at,
    });
    await this.#store.flush();
    const context = this.#contextOf(session);
    return {
      ok: true,
      status: context.counters.queued > queuedBefore ? 'queued' : 'duplicate',
      sessionDbId: session.sessionDbId,
      queueLength: context.queue.length,
    };
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

  get(target: SessionTarget): SessionView | undefined {
    const session = this.#live(target);
    return session === undefined ? undefined : this.#view(session);
  }

  list(): SessionView[] {
    return [...this.#sessions.values()].map((session) => this.#view(session));
  }

  stats(): RegistryStats {
    const byLifecycle = { active: 0, idle: 0, expiring: 0 };
    const byState: Record<string, number> = {};
    const totals = { ...this.#retiredCounters };
    let dormant = 0;
    for (const session of this.#sessions.values()) {
      if (session.dormant) dormant++;
      const snapshot = session.state();
      const lifecycle = lifecycleOf(snapshot.value);
      if (lifecycle !== 'disposed') byLifecycle[lifecycle]++;
      const state = stateNameOf(snapshot.value);
      byState[state] = (byState[state] ?? 0) + 1;
      addInto(totals, snapshot.context.counters);
    }
    return {
      live: this.#sessions.size,
      dormant,
      byLifecycle,
      byState,
      slots: this.#slots.stats(),
      disposals: { ...this.#disposals },
      refusedAtCapacity: this.#refusedAtCapacity,
      refusedQueueFull: this.#refusedQueueFull,
      totals,
    };
  }

  on<K extends keyof RegistryEvents>(event: K, listener: (payload: RegistryEvents[K]) => void): () => void {
    const listeners = this.#listeners[event] as Set<(payload: RegistryEvents[K]) => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  checkMemoryPressure(): void {
    this.#memoryMonitor?.check();
  }

  shutdown(options: { readonly drainMs?: number } = {}): Promise<ShutdownReport> {
    this.#closing ??= this.#shutdown(options.drainMs ?? 0);
    return this.#closing;
  }

  // ── sessions ──────────────────────────────────────────────────────────────────────────────────

  #live(target: SessionTarget): LiveSession | undefined {
    const sessionDbId = 'sessionDbId' in target ? target.sessionDbId : this.#byContentId.get(target.contentSessionId);
    return sessionDbId === undefined ? undefined : this.#sessions.get(sessionDbId);
  }

  /** The live session for work that has arrived: revived or created, within capacity. */
  #acquire(target: SessionTarget, at: number): { ok: true; session: LiveSession; created: boolean } | Refusal {
    const live = this.#live(target);
    if (live !== undefined) return { ok: true, session: live, created: false };

    let stored: StoredSession | undefined;
    if ('sessionDbId' in target) {
      stored = this.#store.getSession(target.sessionDbId);
      if (stored === undefined) return { ok: false, error: 'not-found' };
    }
    if (!this.#admit()) {
      this.#refusedAtCapacity++;
      return { ok: false, error: 'at-capacity', retryAfterMs: this.#options.retryAfterMs };
    }
    if (stored === undefined && 'contentSessionId' in target) {
      stored = this.#store.openSession(target.contentSessionId, target.project ?? '', at);
    }
    if (stored!.status === 'live' && stored!.incarnationSeq !== null) {
      const restored = this.#restore(stored!);
      if (restored !== undefined) return { ok: true, session: restored, created: false };
    }
    return { ok: true, session: this.#start(stored!, at), created: true };
  }

  /** Makes room for one more live session, evicting the least recently active idle one if needed. */
  #admit(): boolean {
    if (this.#sessions.size < this.#options.maxActiveSessions) return true;
    const victim = this.#leastRecentlyActiveIdle();
    if (victim === undefined) return false;
    this.#evict(victim, 'capacity');
    return this.#sessions.size < this.#options.maxActiveSessions;
  }

  #leastRecentlyActiveIdle(): LiveSession | undefined {
    let victim: LiveSession | undefined;
    let victimActivity = Infinity;
    for (const session of this.#sessions.values()) {
      const snapshot = session.state();
      if (isEvictable(snapshot) && snapshot.context.lastActivityAt < victimActivity) {
        victim = session;
        victimActivity = snapshot.context.lastActivityAt;
      }
    }
    return victim;
  }

  #start(stored: StoredSession, at: number): LiveSession {
    const session = new LiveSession(stored.sessionDbId, stored.contentSessionId, stored.lastSeq, this.#actors);
    this.#sessions.set(session.sessionDbId, session);
    this.#byContentId.set(session.contentSessionId, session.sessionDbId);
    session.start({
      sessionDbId: stored.sessionDbId,
      contentSessionId: stored.contentSessionId,
      project: stored.project,
      settings: this.#options.settings,
      at,
      promptNumber: stored.lastPromptNumber,
    });
    return session;
  }

  async #command(target: SessionTarget, event: (at: number) => SessionEvent): Promise<CommandResult> {
    if (this.#closing) return { ok: false, error: 'shutting-down' };
    const session = this.#live(target);
    if (session === undefined) return { ok: false, error: 'not-found' };
    this.#send(session, event(this.#clock.now()));
    await this.#store.flush();
    return { ok: true, sessionDbId: session.sessionDbId };
  }

  #send(session: LiveSession, event: SessionEvent): void {
    // Outside events mark recency: the map's order is what capacity eviction scans first.
    if (this.#sessions.delete(session.sessionDbId)) this.#sessions.set(session.sessionDbId, session);
    session.send(event);
  }

  #evict(session: LiveSession, reason: EvictionReason): void {
    this.#options.logger.info({ sessionDbId: session.sessionDbId, reason }, 'evicting idle session');
    session.send({ type: 'EVICT', reason, at: this.#clock.now() });
  }

  #shed(surplus: number, usage: number): void {
    const candidates = [...this.#sessions.values()]
      .map((session) => ({ session, snapshot: session.state() }))
      .filter(({ snapshot }) => isEvictable(snapshot))
      .sort((a, b) => a.snapshot.context.lastActivityAt - b.snapshot.context.lastActivityAt)
      .slice(0, surplus);
    this.#options.logger.warn(
      { heapUsagePercent: Math.round(usage * 1000) / 10, surplus, evicting: candidates.length },
      'memory pressure: evicting idle sessions, oldest first',
    );
    for (const { session } of candidates) this.#evict(session, 'memory-pressure');
  }

  #queueFull(): Refusal {
    this.#refusedQueueFull++;
    return { ok: false, error: 'queue-full', retryAfterMs: this.#options.retryAfterMs };
  }

  #contextOf(session: LiveSession) {
    return session.state().context;
  }

  #view(session: LiveSession): SessionView {
    const state = session.state();
    return describeSession(state.value, state.context);
  }

  // ── what the machine asks of the world ────────────────────────────────────────────────────────

  #provideMachine(): SessionMachine {
    const { agent, estimateTokens } = this.#options;
    const clock = this.#clock;
    const untilDeadline = (deadline: number | null) => Math.max(0, (deadline ?? clock.now()) - clock.now());
    return sessionMachine.provide({
      actions: {
        requestSlot: ({ context }) => this.#slots.request(context.sessionDbId),
        cancelSlotRequest: ({ context }) => this.#slots.cancel(context.sessionDbId),
        releaseSlot: ({ context }) => this.#slots.release(context.sessionDbId),
        notifyExpiring: ({ context }) =>
          this.#emit('expiring', {
            sessionDbId: context.sessionDbId,
            contentSessionId: context.contentSessionId,
            graceDeadline: context.graceDeadline ?? clock.now(),
          }),
        removeFromRegistry: ({ context }) => this.#forget(context.sessionDbId, context.contentSessionId),
      },
      delays: {
        idleDeadline: ({ context }) => untilDeadline(context.idleDeadline),
        graceDeadline: ({ context }) => untilDeadline(context.graceDeadline),
        retryAt: ({ context }) => untilDeadline(context.retryAt),
      },
      actors: {
        agent: fromPromise<AgentOutput, AgentInput>(async ({ input, signal }) => {
          let reply: Awaited<ReturnType<typeof agent.run>>;
          try {
            reply = await agent.run(input, signal);
          } catch (error) {
            throw toAgentFailure(error, clock.now());
          }
          return {
            reply: reply.text,
            replyTokens: estimateTokens(reply.text),
            at: clock.now(),
            ...(reply.usage === undefined ? {} : { usage: reply.usage }),
          };
        }),
      },
    });
  }

  #grantSlot(sessionDbId: number, waitedMs: number): boolean {
    if (this.#slotsFrozen) return false;
    const session = this.#sessions.get(sessionDbId);
    if (session === undefined || session.dormant) return false;
    session.send({ type: 'SLOT_GRANTED', at: this.#clock.now() });
    const state = session.state();
    const took =
      state.status === 'active' && typeof state.value === 'object' && (state.value as { active?: string }).active === 'processing';
    if (took) this.#emit('slotGranted', { sessionDbId, waitedMs });
    return took;
  }

  #forget(sessionDbId: number, contentSessionId: string): void {
    this.#sessions.delete(sessionDbId);
    if (this.#byContentId.get(contentSessionId) === sessionDbId) this.#byContentId.delete(contentSessionId);
    // Entries of disposed sessions are only outlived; with nobody left, drop them all at once.
    if (this.#sessions.size === 0) this.#deadlines.clear();
  }

  /** Every event a session actor processed: to the log, to listeners, and the disposal bookkeeping. */
  #observe(session: LiveSession, inspection: InspectionEvent): void {
    this.#options.inspect?.(inspection);
    if (inspection.type !== '@xstate.snapshot' || inspection.actorRef.sessionId !== inspection.rootId) return;
    const snapshot = inspection.snapshot as SessionSnapshot;
    if (snapshot.status === 'stopped') return;
    const { event } = inspection;
    if (session.resumed && event.type === 'xstate.init') {
      session.resumed = false; // a restart or a wake, not a creation: RECOVER follows and is logged
      return;
    }
    const at = this.#clock.now();
    const seq = this.#store.append(session.sessionDbId, { type: event.type, payload: loggable(event, at), at });
    // A snapshot every `snapshotEvery` events; dormancy takes one too (see #onDeadline), so most of what a
    // restart finds costs a snapshot and next to no replay.
    if (seq > 0 && snapshot.status === 'active' && seq - session.snapshotSeq >= this.#options.snapshotEvery) {
      this.#store.saveSnapshot(session.sessionDbId, { seq, value: snapshot.value, context: snapshot.context, at });
      session.snapshotSeq = seq;
    }
    if (this.#listeners.processed.size > 0) {
      this.#emit('processed', { sessionDbId: session.sessionDbId, type: event.type, state: stateNameOf(snapshot.value), at });
    }
    if (snapshot.status === 'done') this.#disposed(snapshot.context.disposal, snapshot.context);
    else if (snapshot.status === 'error') this.#crashed(session, snapshot.error);
    else if (snapshot.value === 'idle' && !session.sleepCheckPending && this.#options.hibernateAfterMs !== false) {
      session.sleepCheckPending = true;
      this.#deadlines.schedule(session.sessionDbId, snapshot.context.lastActivityAt + this.#options.hibernateAfterMs);
    }
  }

  /** A dormant session's state, logged if anything happened since the last snapshot: recovery then replays nothing. */
  #snapshotDormant(session: LiveSession, context: SessionContext, at: number): void {
    const seq = this.#store.getSession(session.sessionDbId)?.lastSeq ?? 0;
    if (seq > session.snapshotSeq) {
      this.#store.saveSnapshot(session.sessionDbId, { seq, value: 'idle', context, at });
      session.snapshotSeq = seq;
    }
  }

  /** A session's time has come: an awake one idle long enough goes dormant; a dormant one wakes at its deadline. */
  #onDeadline(sessionDbId: number): void {
    const session = this.#sessions.get(sessionDbId);
    if (session === undefined || this.#closing) return;
    const now = this.#clock.now();
    const { context, value } = session.state();
    if (session.dormant) {
      if ((context.idleDeadline ?? now) <= now) session.wakeAtDeadline();
      return;
    }
    session.sleepCheckPending = false;
    const hibernateAfterMs = this.#options.hibernateAfterMs;
    if (value !== 'idle' || hibernateAfterMs === false) return;
    const sleepAt = context.lastActivityAt + hibernateAfterMs;
    const deadline = context.idleDeadline ?? Infinity;
    if (sleepAt > now) {
      // Activity since the check was scheduled: check again when it has been quiet long enough (lazily).
      session.sleepCheckPending = true;
      this.#deadlines.schedule(sessionDbId, sleepAt);
    } else if (deadline > now && session.hibernate()) {
      // (At or past its deadline it would only be woken to expire: not worth it.)
      this.#deadlines.schedule(sessionDbId, deadline);
      this.#snapshotDormant(session, context, now);
    }
  }

  #disposed(disposal: Disposal | null, context: SessionSnapshot['context']): void {
    const record: Disposal = disposal ?? { reason: 'deleted', at: this.#clock.now(), droppedItems: 0 };
    this.#disposals[record.reason]++;
    addInto(this.#retiredCounters, context.counters);
    this.#store.sessionDisposed(context.sessionDbId, record, {
      processed: context.counters.processed,
      failed: context.counters.failed,
    });
    this.#options.logger.info(
      { sessionDbId: context.sessionDbId, reason: record.reason, droppedItems: record.droppedItems },
      'session disposed',
    );
    this.#emit('disposed', {
      sessionDbId: context.sessionDbId,
      contentSessionId: context.contentSessionId,
      project: context.project,
      reason: record.reason,
      at: record.at,
      droppedItems: record.droppedItems,
      counters: context.counters,
    });
  }

  /** A bug in an action: the actor is dead. Drop it rather than keep a zombie in the map. */
  #crashed(session: LiveSession, error: unknown): void {
    this.#options.logger.error({ sessionDbId: session.sessionDbId, err: error }, 'session actor crashed');
    this.#forget(session.sessionDbId, session.contentSessionId);
    this.#slots.cancel(session.sessionDbId);
    this.#slots.release(session.sessionDbId);
  }

  #emit<K extends keyof RegistryEvents>(event: K, payload: RegistryEvents[K]): void {
    for (const listener of this.#listeners[event] as Set<(payload: RegistryEvents[K]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        this.#options.logger.error({ err: error, event }, 'registry listener threw');
      }
    }
  }

  // ── recovery and compaction ───────────────────────────────────────────────────────────────────

  async recover(): Promise<RecoveryReport> {
    const started = performance.now();
    const restored: Record<string, number> = {};
    const skipped: (SkippedEvent & { sessionDbId: number })[] = [];
    let eventsReplayed = 0;
    let fromSnapshots = 0;
    let sessions = 0;
    for (const stored of this.#store.liveSessions()) {
      if (this.#sessions.has(stored.sessionDbId)) continue;
      const live = this.#restore(stored, (rebuilt) => {
        const state = stateNameOf(rebuilt.value);
        restored[state] = (restored[state] ?? 0) + 1;
        eventsReplayed += rebuilt.eventsReplayed;
        if (rebuilt.fromSnapshotSeq !== null) fromSnapshots++;
        for (const event of rebuilt.skipped) skipped.push({ ...event, sessionDbId: stored.sessionDbId });
      });
      if (live !== undefined) sessions++;
    }
    // A smaller maxActiveSessions than last time: shed the least recently active idle sessions.
    while (this.#sessions.size > this.#options.maxActiveSessions) {
      const victim = this.#leastRecentlyActiveIdle();
      if (victim === undefined) break;
      this.#evict(victim, 'capacity');
    }
    await this.#store.flush();
    const report = { restored, sessions, eventsReplayed, fromSnapshots, skipped, durationMs: performance.now() - started };
    this.#options.logger.info({ ...report, skipped: skipped.length }, 'sessions recovered from the log');
    return report;
  }

  compact(): CompactionReport {
    const now = this.#clock.now();
    const report = this.#store.compact(now - this.#options.retentionMs, now);
    if (report.compacted > 0) this.#options.logger.info({ ...report }, 'compacted the streams of disposed sessions');
    return report;
  }

  /**
   * Rebuilds one session from the log and resumes it with RECOVER, which re-enters its state: timers
   * count down what remains of their deadlines, a slot is asked for again, an interrupted agent call is
   * retried. Undefined when the log shows it disposed (its bookkeeping is then completed).
   */
  #restore(stored: StoredSession, report?: (rebuilt: NonNullable<ReturnType<typeof rebuildSession>>) => void): LiveSession | undefined {
    const rebuilt = rebuildSession(this.#store, stored, {
      onSkip: (event) =>
        this.#options.logger.warn(
          { sessionDbId: stored.sessionDbId, ...event },
          'skipped an event the log holds but this version cannot replay',
        ),
    });
    if (rebuilt === undefined) return undefined;
    report?.(rebuilt);
    if (rebuilt.status === 'done') {
      const disposal = rebuilt.context.disposal ?? { reason: 'deleted' as const, at: this.#clock.now(), droppedItems: 0 };
      this.#store.sessionDisposed(stored.sessionDbId, disposal, rebuilt.context.counters);
      return undefined;
    }
    const session = new LiveSession(
      stored.sessionDbId,
      stored.contentSessionId,
      rebuilt.fromSnapshotSeq ?? stored.incarnationSeq ?? 0,
      this.#actors,
    );
    this.#sessions.set(session.sessionDbId, session);
    this.#byContentId.set(session.contentSessionId, session.sessionDbId);
    session.resume(rebuilt.value, rebuilt.context);
    session.send({ type: 'RECOVER', at: this.#clock.now(), reason: 'restart', settings: this.#options.settings });
    return session;
  }

  #armCompaction(): void {
    this.#compactionTimer = this.#clock.setTimeout(() => {
      try {
        this.compact();
      } catch (error) {
        this.#options.logger.error({ err: error }, 'compaction failed; it will be tried again');
      }
      this.#armCompaction();
    }, this.#options.compactionIntervalMs);
    unrefTimer(this.#compactionTimer);
  }

  // ── shutdown ──────────────────────────────────────────────────────────────────────────────────

  async #shutdown(drainMs: number): Promise<ShutdownReport> {
    this.#memoryMonitor?.stop();
    if (this.#compactionTimer !== undefined) this.#clock.clearTimeout(this.#compactionTimer);
    this.#slotsFrozen = true;
    if (drainMs > 0 && this.#slots.stats().inUse > 0) await this.#drain(drainMs);
    const abortedAgentCalls = this.#slots.stats().inUse;
    const stopped = this.#sessions.size;
    for (const session of this.#sessions.values()) session.stop();
    this.#deadlines.clear();
    this.#sessions.clear();
    this.#byContentId.clear();
    this.#slots.clear();
    await this.#store.flush();
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

function isEvictable(state: SessionState): boolean {
  return state.status === 'active' && (state.value === 'idle' || state.value === 'expiring');
}

/** Turns whatever the agent threw into the failure the machine routes on. */
function toAgentFailure(error: unknown, at: number): AgentFailure {
  if (error instanceof AgentError) {
    return {
      kind: error.kind,
      message: error.message,
      at,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }
  return asAgentFailure(error, at);
}

/** The event as the log keeps it: plain JSON, failures normalised. */
function loggable(event: { type: string }, at: number): unknown {
  if (event.type.startsWith('xstate.error.actor.')) {
    const { error, ...rest } = event as { type: string; error: unknown };
    return { ...rest, error: asAgentFailure(error, at) };
  }
  return event;
}
