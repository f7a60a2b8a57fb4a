/**
 * The embedded engine: the engine contract over this process's session registry and its event log
 * (SQLite by default), what the worker has always run. It adds nothing to the registry's guarantees
 * (the registry applies the command rules, privacy included); it only answers the contract's questions
 * from the registry (live sessions) and the log (identities, events, timelines).
 * May not: change a session other than through the registry's commands.
 */
import {
  durableIdentity,
  type EngineCapabilities,
  type EngineStats,
  type Refusal,
  type SessionEngine,
  type SessionInspection,
  type SessionTarget,
} from '../engine/index.js';
import type { MemoryStore } from '../memories/index.js';
import { rebuildSession, sessionTimeline } from '../replay/index.js';
import { type EventStore, EventStoreError } from '../store/index.js';
import type { SessionRegistry } from './types.js';

/** What the embedded engine can do, for the routes, the metrics and the dashboard. */
export const EMBEDDED_CAPABILITIES: EngineCapabilities = {
  capacity: true,
  memoryPressure: true,
  dormancy: true,
  localLog: true,
  inspector: true,
  unwritable: 'log-unwritable',
};

/** The embedded engine, with the registry and the log it runs on (for tests and library users who hold them). */
export interface EmbeddedEngine extends SessionEngine {
  readonly registry: SessionRegistry;
  readonly store: EventStore;
}

export interface EmbeddedEngineOptions {
  /** The registry that runs the sessions (createSessionRegistry). Required. */
  readonly registry: SessionRegistry;
  /** The log the registry writes, for reads: identities, events, timelines. Required (the registry's own `store`). */
  readonly store: EventStore;
  /** Closed by `close()` after the registry stopped. Default true: the engine owns its log; false for a log you close yourself. */
  readonly closeStore?: boolean;
  /**
   * The memories the log's replies become (kept beside it, see openSqliteMemories), closed with the store.
   * Default none: the memory routes then answer as a worker that remembers nothing.
   */
  readonly memories?: MemoryStore;
  /** What `description.location` names: the log file. Default `memory` (a log without a file). */
  readonly location?: string;
  /**
   * Timeline entries `inspect()` returns at most (the newest). Default 1,000, as many as the Restate
   * engine keeps per session, so that the dashboard's session page reads the same on both.
   */
  readonly maxTimelineEntries?: number;
  /** When a private prompt opens an identity. Default the process clock. */
  readonly now?: () => number;
}

export function createEmbeddedEngine(options: EmbeddedEngineOptions): EmbeddedEngine {
  const { registry, store } = options;
  const now = options.now ?? Date.now;
  const maxTimelineEntries = options.maxTimelineEntries ?? 1_000;
  const stored = (target: SessionTarget) =>
    'sessionDbId' in target ? store.getSession(target.sessionDbId) : store.findSession(target.contentSessionId);

  return {
    registry,
    store,
    description: {
      kind: 'embedded',
      location: options.location ?? 'memory',
      ownership: 'exclusive',
      starting: 'recovering sessions from its log',
      afterStop: 'every live session is in the log for the next start',
    },
    capabilities: EMBEDDED_CAPABILITIES,
    notifications: { disposed: 'live', processed: 'live', slotGranted: 'live', pollMs: null },
    memories: options.memories ?? null,

    async start() {
      const report = await registry.recover();
      return {
        sessions: report.sessions,
        durationMs: report.durationMs,
        detail: { restored: report.restored, eventsReplayed: report.eventsReplayed, fromSnapshots: report.fromSnapshots },
      };
    },
    init: (target, request) => registry.init(target, request),
    enqueue: (target, work) => registry.enqueue(target, work),
    touch: (target) => registry.touch(target),
    complete: (target) => registry.complete(target),
    delete: (target) => registry.delete(target),

    get: async (target) => registry.get(target),
    list: async () => registry.list(),
    identity: async (target) => {
      const found = stored(target);
      return found === undefined ? undefined : durableIdentity(found, registry.get(target)?.promptNumber);
    },
    openIdentity: async (contentSessionId, project) => {
      try {
        const opened = store.openSession(contentSessionId, project, now());
        return durableIdentity(opened, registry.get({ contentSessionId })?.promptNumber);
      } catch (error) {
        if (!(error instanceof EventStoreError && error.code === 'write-failed')) throw error;
        const refused: Refusal = { ok: false, error: 'log-unwritable', message: error.message, retryAfterMs: 1_000 };
        return refused;
      }
    },
    events: async (sessionDbId, page = {}) => {
      if (store.getSession(sessionDbId) === undefined) return undefined;
      const events = store.readEvents(sessionDbId, {
        ...(page.after === undefined ? {} : { afterSeq: page.after }),
        ...(page.limit === undefined ? {} : { limit: page.limit }),
      });
      return events.map(({ seq, type, at, payload }) => ({ seq, type, at, payload }));
    },
    inspect: async (sessionDbId): Promise<SessionInspection | undefined> => {
      const found = store.getSession(sessionDbId);
      if (found === undefined) return undefined;
      const view = registry.get({ sessionDbId }) ?? null;
      // A disposed session's history was cleared at disposal: nothing to rebuild.
      const rebuilt = view === null || found.incarnationSeq === null ? undefined : rebuildSession(store, found);
      const timeline = sessionTimeline(store, sessionDbId);
      const entries = timeline?.entries ?? [];
      return {
        identity: durableIdentity(found, view?.promptNumber),
        view,
        context: rebuilt?.context ?? null,
        timeline: { entries: entries.slice(-maxTimelineEntries), total: entries.length, skipped: timeline?.skipped.length ?? 0 },
      };
    },

    health: async () => registry.health(),
    stats: async (): Promise<EngineStats> => registry.stats(),
    on: (event, listener) => registry.on(event, listener),

    async close(closeOptions = {}) {
      await registry.shutdown({ drainMs: closeOptions.drainMs ?? 0 });
      if (options.closeStore !== false) {
        await options.memories?.close();
        store.close();
      }
    },
  };
}
