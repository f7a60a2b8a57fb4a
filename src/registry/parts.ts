/**
 * Owns the wiring: makes each part of the registry and connects them (who hears whom). The registry's
 * own behaviour, the commands and slot grants, comes in as `hooks`.
 * May not: hold state of its own, or behave; every part says what it owns in its own header.
 */
import type { SessionMachine } from '../../machines/session.machine.js';
import { createEphemeralStore, type EventStore } from '../store/index.js';
import { Admission } from './admission.js';
import { AgentCalls } from './agent-calls.js';
import { Dormancy } from './dormancy.js';
import { Journal } from './journal.js';
import { Listeners } from './listeners.js';
import type { ActorFactory } from './live-session.js';
import { provideSessionMachine, sessionActors } from './machine.js';
import type { ResolvedOptions } from './options.js';
import { Outcomes } from './outcomes.js';
import { Recovery } from './recovery.js';
import { SessionTable } from './session-table.js';
import { SlotPool } from './slots.js';
import { RegistryCounters } from './stats.js';

export interface RegistryParts {
  readonly store: EventStore;
  readonly sessions: SessionTable;
  readonly listeners: Listeners;
  readonly counters: RegistryCounters;
  readonly slots: SlotPool;
  readonly calls: AgentCalls;
  readonly actors: ActorFactory;
  readonly journal: Journal;
  readonly admission: Admission;
  readonly dormancy: Dormancy;
  readonly recovery: Recovery;
  readonly outcomes: Outcomes;
}

/** What the parts ask of the registry itself. */
export interface RegistryHooks {
  /** A slot is free for this session: it takes it (true) or has moved on (false). */
  grantSlot(sessionDbId: number, waitedMs: number): boolean;
  /** True once shutdown began. */
  closing(): boolean;
}

export function assembleParts(options: ResolvedOptions, hooks: RegistryHooks): RegistryParts {
  const { clock, logger } = options;
  const store = options.store ?? createEphemeralStore();
  const sessions = new SessionTable();
  const listeners = new Listeners(logger);
  const counters = new RegistryCounters();
  // Parts that hear each other are made in an order; the later ones are reached through these.
  let journal: Journal | undefined;
  let dormancy: Dormancy | undefined;
  let admission: Admission | undefined;
  let outcomes: Outcomes | undefined;
  let recovery: Recovery | undefined;
  const forget = (sessionDbId: number, contentSessionId: string) => {
    sessions.remove(sessionDbId, contentSessionId);
    // Deadline entries of disposed sessions are only outlived; with nobody left, drop them all at once.
    if (sessions.size === 0) dormancy!.clear();
  };

  const slots = new SlotPool({
    capacity: options.maxConcurrentAgents,
    clock,
    grant: hooks.grantSlot,
    // No agent call starts on work that is not durable: slots are handed out after the commit.
    schedule: (pump) => journal!.whenDurable(pump),
  });
  const calls = new AgentCalls({
    agent: options.agent,
    clock,
    estimateTokens: options.estimateTokens,
    deliver: (sessionDbId, event) => sessions.get(sessionDbId)?.deliver(event),
    // A batch may hold work queued after its slot was asked for: the call waits until all of it is durable.
    whenDurable: (sessionDbId, start) => {
      const session = sessions.get(sessionDbId);
      if (session === undefined || journal!.workIsDurable(session)) start();
      else journal!.whenDurable(start);
    },
  });
  const machine: SessionMachine = provideSessionMachine({
    calls,
    clock,
    slots,
    expiring: (notice) => listeners.emit('expiring', notice),
    removed: forget,
  });
  const actors = sessionActors(machine, clock, (session, event) => outcomes!.observe(session, event));
  journal = new Journal({
    store,
    clock,
    logger,
    snapshotEvery: options.snapshotEvery,
    retentionMs: options.retentionMs,
    compactionIntervalMs: options.store === undefined ? false : options.compactionIntervalMs,
    probeIntervalMs: options.writeProbeIntervalMs,
    rollBack: (sessionDbIds) => recovery!.rollBack(sessionDbIds),
    recovered: () => recovery!.restoreRolledBack(),
  });
  dormancy = new Dormancy({ clock, hibernateAfterMs: options.hibernateAfterMs, sessions, journal, closing: hooks.closing });
  outcomes = new Outcomes({
    clock,
    logger,
    journal,
    listeners,
    counters,
    dormancy: () => dormancy!,
    slots,
    calls,
    forget,
    inspect: options.inspect,
  });
  recovery = new Recovery({
    store,
    sessions,
    actors,
    clock,
    settings: options.settings,
    logger,
    slots,
    forget,
    fitToCapacity: () => admission!.fitToCapacity(),
  });
  admission = new Admission({
    sessions,
    store,
    actors,
    recovery,
    counters,
    settings: options.settings,
    maxActiveSessions: options.maxActiveSessions,
    retryAfterMs: options.retryAfterMs,
    clock,
    logger,
    memoryPressure: options.memoryPressure,
  });
  return { store, sessions, listeners, counters, slots, calls, actors, journal, admission, dormancy, recovery, outcomes };
}
