/**
 * Owns who may be live and how a session comes alive: work for a session that is not live revives it
 * from the log or creates it, within `maxActiveSessions` (evicting the least recently active idle
 * session to make room); and idle sessions are shed, oldest first, when the heap is over its limit.
 * Eviction is an EVICT event: the session disposes itself, with its reason, like any other disposal.
 * May not: send work to sessions, or evict one that has queued work.
 */

import type { EvictionReason, SessionSettings } from '../../machines/session.machine.js';
import { hasTag } from '../../machines/session.states.js';
import type { Clock } from '../clock/index.js';
import type { Refusal, SessionTarget } from '../engine/index.js';
import type { EventStore, StoredSession } from '../store/index.js';
import { type ActorFactory, LiveSession, type SessionState } from './live-session.js';
import { startMemoryMonitor } from './memory.js';
import type { RegistryLogger, ResolvedOptions } from './options.js';
import type { Recovery } from './recovery.js';
import type { SessionTable } from './session-table.js';
import type { RegistryCounters } from './stats.js';

export interface AdmissionOptions {
  readonly sessions: SessionTable;
  readonly store: EventStore;
  readonly actors: ActorFactory;
  /** Revives a session whose stream the log shows live. */
  readonly recovery: Pick<Recovery, 'restore'>;
  readonly counters: Pick<RegistryCounters, 'refused'>;
  /** What a session created in this process starts with. */
  readonly settings: SessionSettings;
  readonly maxActiveSessions: number;
  readonly retryAfterMs: number;
  readonly clock: Clock;
  readonly logger: RegistryLogger;
  readonly memoryPressure: ResolvedOptions['memoryPressure'];
}

export type Acquired = { readonly ok: true; readonly session: LiveSession; readonly created: boolean } | Refusal;

/** Only a session with nothing to do may be evicted: idle, or already expiring. */
export function isEvictable(state: SessionState): boolean {
  return state.status === 'active' && hasTag(state, 'resting');
}

export class Admission {
  readonly #options: AdmissionOptions;
  readonly #memoryMonitor: { stop(): void; check(): void } | undefined;

  constructor(options: AdmissionOptions) {
    this.#options = options;
    const memory = options.memoryPressure;
    if (memory !== false) {
      this.#memoryMonitor = startMemoryMonitor({
        clock: options.clock,
        intervalMs: memory.intervalMs,
        limitPercent: memory.limitPercent,
        targetPercent: memory.targetPercent,
        read: memory.read,
        liveSessions: () => options.sessions.size,
        shed: (surplus, usage) => this.#shed(surplus, usage),
      });
    }
  }

  /** The live session for work that has arrived: live already, revived from the log, or created, within capacity. */
  acquire(target: SessionTarget, at: number): Acquired {
    const { sessions, store, counters } = this.#options;
    const live = sessions.find(target);
    if (live !== undefined) return { ok: true, session: live, created: false };

    let stored: StoredSession | undefined;
    if ('sessionDbId' in target) {
      stored = store.getSession(target.sessionDbId);
      if (stored === undefined) return { ok: false, error: 'not-found' };
    }
    if (!this.#admit()) {
      counters.refused('at-capacity');
      return { ok: false, error: 'at-capacity', retryAfterMs: this.#options.retryAfterMs };
    }
    if (stored === undefined && 'contentSessionId' in target) {
      stored = store.openSession(target.contentSessionId, target.project ?? '', at);
    }
    if (stored!.status === 'live' && stored!.incarnationSeq !== null) {
      const restored = this.#options.recovery.restore(stored!);
      if (restored !== undefined) return { ok: true, session: restored, created: false };
    }
    return { ok: true, session: this.#start(stored!, at), created: true };
  }

  #start(stored: StoredSession, at: number): LiveSession {
    const session = new LiveSession(stored.sessionDbId, stored.contentSessionId, stored.lastSeq, this.#options.actors);
    this.#options.sessions.add(session);
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

  /** Makes room for one more live session, evicting the least recently active idle one if needed. */
  #admit(): boolean {
    const { sessions, maxActiveSessions } = this.#options;
    if (sessions.size < maxActiveSessions) return true;
    const victim = this.#leastRecentlyActiveIdle();
    if (victim === undefined) return false;
    this.#evict(victim, 'capacity');
    return sessions.size < maxActiveSessions;
  }

  /** Evicts idle sessions until the live set fits `maxActiveSessions` (a smaller limit than the log's last run). */
  fitToCapacity(): void {
    while (this.#options.sessions.size > this.#options.maxActiveSessions) {
      const victim = this.#leastRecentlyActiveIdle();
      if (victim === undefined) break;
      this.#evict(victim, 'capacity');
    }
  }

  checkMemoryPressure(): void {
    this.#memoryMonitor?.check();
  }

  stop(): void {
    this.#memoryMonitor?.stop();
  }

  #leastRecentlyActiveIdle(): LiveSession | undefined {
    let victim: LiveSession | undefined;
    let victimActivity = Infinity;
    for (const session of this.#options.sessions.values()) {
      const snapshot = session.state();
      if (!session.frozen && isEvictable(snapshot) && snapshot.context.lastActivityAt < victimActivity) {
        victim = session;
        victimActivity = snapshot.context.lastActivityAt;
      }
    }
    return victim;
  }

  #evict(session: LiveSession, reason: EvictionReason): void {
    this.#options.logger.info({ sessionDbId: session.sessionDbId, reason }, 'evicting idle session');
    session.send({ type: 'EVICT', reason, at: this.#options.clock.now() });
  }

  #shed(surplus: number, usage: number): void {
    const candidates = [...this.#options.sessions.values()]
      .filter((session) => !session.frozen)
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
}
