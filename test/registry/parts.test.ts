/**
 * The registry's parts, each on its own: the live set, listeners, counters, admission and dormancy,
 * wired by hand to real session actors (the real machine, a real in-memory log) instead of through
 * createSessionRegistry. The registry's own tests cover them together.
 */

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { DEFAULT_SESSION_SETTINGS, ZERO_COUNTERS } from '../../machines/session.machine.js';
import { systemClock } from '../../src/clock/index.js';
import { Admission } from '../../src/registry/admission.js';
import { AgentCalls } from '../../src/registry/agent-calls.js';
import { Dormancy } from '../../src/registry/dormancy.js';
import { Journal, processedEvent } from '../../src/registry/journal.js';
import { Listeners } from '../../src/registry/listeners.js';
import { LiveSession } from '../../src/registry/live-session.js';
import { provideSessionMachine, sessionActors } from '../../src/registry/machine.js';
import { Recovery } from '../../src/registry/recovery.js';
import { SessionTable } from '../../src/registry/session-table.js';
import { SlotPool } from '../../src/registry/slots.js';
import { RegistryCounters } from '../../src/registry/stats.js';
import { createMemoryStore } from '../../src/store/index.js';
import { delayedAgent } from '../support/agents.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const TTL = 60_000;

/** Real actors on the real machine, their processed events logged by a journal, nothing else wired. */
function world(observe: (session: LiveSession, inspection: InspectionEvent) => void = () => {}) {
  const store = createMemoryStore();
  const sessions = new SessionTable();
  const journal = new Journal({
    store,
    clock: systemClock,
    logger: silent,
    snapshotEvery: 500,
    retentionMs: 0,
    compactionIntervalMs: false,
    probeIntervalMs: 1_000,
    rollBack: () => {},
    recovered: () => {},
  });
  const slots = new SlotPool({ capacity: 2, clock: systemClock, grant: () => false });
  const calls = new AgentCalls({
    agent: delayedAgent(1),
    estimateTokens: (text) => Math.ceil(text.length / 4),
    clock: systemClock,
    deliver: (sessionDbId, event) => sessions.get(sessionDbId)?.deliver(event),
  });
  const machine = provideSessionMachine({
    calls,
    clock: systemClock,
    slots,
    expiring: () => {},
    removed: (id, contentId) => sessions.remove(id, contentId),
  });
  const actors = sessionActors(machine, systemClock, (session, inspection) => {
    const processed = processedEvent(session, inspection);
    if (processed !== undefined) journal.record(session, processed);
    observe(session, inspection);
  });
  const settings = { ...DEFAULT_SESSION_SETTINGS, idleTtlMs: TTL };
  const recovery = new Recovery({
    store,
    sessions,
    actors,
    clock: systemClock,
    settings,
    logger: silent,
    slots,
    forget: (id, contentId) => sessions.remove(id, contentId),
    fitToCapacity: () => {},
  });
  return { store, sessions, journal, actors, settings, recovery };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SessionTable', () => {
  it('finds sessions by id and by content id, in recency order, and keeps a newer incarnation on removal of an older one', () => {
    const { actors } = world();
    const table = new SessionTable();
    const a = new LiveSession(1, 'a', 0, actors);
    const b = new LiveSession(2, 'b', 0, actors);
    table.add(a);
    table.add(b);
    expect(table.find({ contentSessionId: 'a' })).toBe(a);
    expect(table.find({ sessionDbId: 2 })).toBe(b);
    table.markRecent(a);
    expect([...table.values()].map((s) => s.sessionDbId)).toEqual([2, 1]);
    const a2 = new LiveSession(3, 'a', 0, actors);
    table.add(a2);
    table.remove(1, 'a');
    expect(table.find({ contentSessionId: 'a' })).toBe(a2);
    expect(table.size).toBe(2);
  });
});

describe('Listeners', () => {
  it('delivers to every listener even when one throws, and unsubscribes', () => {
    const errors: unknown[] = [];
    const listeners = new Listeners({ ...silent, error: (details) => errors.push(details) });
    const heard: number[] = [];
    listeners.on('slotGranted', () => {
      throw new Error('boom');
    });
    const off = listeners.on('slotGranted', ({ sessionDbId }) => heard.push(sessionDbId));
    expect(listeners.has('slotGranted')).toBe(true);
    listeners.emit('slotGranted', { sessionDbId: 7, waitedMs: 0 });
    off();
    listeners.emit('slotGranted', { sessionDbId: 8, waitedMs: 0 });
    expect(heard).toEqual([7]);
    expect(errors).toHaveLength(2);
    expect(listeners.has('disposed')).toBe(false);
  });
});

describe('RegistryCounters', () => {
  it('counts disposals by reason, refusals, and the counters of sessions gone', () => {
    const counters = new RegistryCounters();
    const gone = { ...ZERO_COUNTERS, processed: 3 };
    counters.disposed('ttl', gone);
    counters.disposed('ttl', gone);
    counters.disposed('capacity', gone);
    counters.refused('at-capacity');
    counters.refused('queue-full');
    const stats = counters.stats([], 0, { capacity: 2, inUse: 0, waiting: 0, granted: 0 });
    expect(stats.disposals).toMatchObject({ ttl: 2, capacity: 1, completed: 0 });
    expect(stats).toMatchObject({ refusedAtCapacity: 1, refusedQueueFull: 1, live: 0 });
    expect(stats.totals.processed).toBe(9);
  });
});

describe('Admission', () => {
  it('creates sessions within capacity, evicts the least recently active idle one for a new one, and refuses when none is idle', async () => {
    const { store, sessions, actors, settings, recovery } = world();
    const counters = new RegistryCounters();
    const admission = new Admission({
      sessions,
      store,
      actors,
      recovery,
      counters,
      settings,
      maxActiveSessions: 2,
      retryAfterMs: 5_000,
      clock: systemClock,
      logger: silent,
      memoryPressure: false,
    });
    const first = admission.acquire({ contentSessionId: 'a', project: 'p' }, Date.now());
    await vi.advanceTimersByTimeAsync(10);
    const second = admission.acquire({ contentSessionId: 'b', project: 'p' }, Date.now());
    expect(first).toMatchObject({ ok: true, created: true });
    expect(second).toMatchObject({ ok: true, created: true });
    expect(admission.acquire({ contentSessionId: 'a' }, Date.now())).toMatchObject({ ok: true, created: false });

    const third = admission.acquire({ contentSessionId: 'c', project: 'p' }, Date.now());
    expect(third).toMatchObject({ ok: true, created: true });
    expect(sessions.find({ contentSessionId: 'a' })).toBeUndefined(); // 'a' was idle longest
    const evicted = store.readEvents(store.findSession('a')!.sessionDbId).at(-1);
    expect(evicted).toMatchObject({ type: 'EVICT', payload: { reason: 'capacity' } });

    // Both live sessions busy: nothing may be evicted.
    for (const session of sessions.values()) session.send({ type: 'INIT', prompt: 'p', promptTokens: 1, promptNumber: 1, at: Date.now() });
    expect(admission.acquire({ contentSessionId: 'd', project: 'p' }, Date.now())).toEqual({
      ok: false,
      error: 'at-capacity',
      retryAfterMs: 5_000,
    });
    expect(counters.stats([], 0, { capacity: 2, inUse: 0, waiting: 0, granted: 0 }).refusedAtCapacity).toBe(1);
    for (const session of sessions.values()) session.stop();
  });
});

describe('Dormancy', () => {
  it('puts a long-idle session to sleep with a snapshot, and wakes it with its own timer event at its deadline', async () => {
    let dormancy: Dormancy | undefined;
    const { store, sessions, journal, actors, settings } = world((session, inspection) => {
      const processed = processedEvent(session, inspection);
      if (processed?.snapshot.value === 'idle' && processed.snapshot.status === 'active') {
        dormancy?.noticeIdle(session, processed.snapshot.context);
      }
    });
    dormancy = new Dormancy({ clock: systemClock, hibernateAfterMs: 1_000, sessions, journal, closing: () => false });
    const stored = store.openSession('a', 'p', Date.now());
    const session = new LiveSession(stored.sessionDbId, 'a', 0, actors);
    sessions.add(session);
    session.start({ sessionDbId: stored.sessionDbId, contentSessionId: 'a', project: 'p', settings, at: Date.now() });

    await vi.advanceTimersByTimeAsync(1_000);
    expect(session.dormant).toBe(true);
    expect(store.latestSnapshot(stored.sessionDbId)?.value).toBe('idle');
    expect(vi.getTimerCount()).toBe(1); // the one deadline timer, no actor timer

    await vi.advanceTimersByTimeAsync(TTL);
    expect(session.dormant).toBe(false);
    expect(session.state().value).toBe('expiring');
    expect(store.readEvents(stored.sessionDbId).map((event) => event.type)).toEqual([
      'xstate.init',
      'xstate.after.idleDeadline.session.idle',
    ]);
    session.stop();
    dormancy.clear();
  });
});
