/**
 * The embedded engine: one process's session registry over its event log (SQLite by default), what the
 * worker has always run. It adds nothing to the registry's guarantees; it only answers the engine's
 * questions from the registry (live sessions) and the log (identities, events, timelines).
 * May not: change a session other than through the registry's commands.
 */
import type { MemoryStore } from '../memories/index.js';
import type { Refusal, SessionRegistry, SessionTarget } from '../registry/index.js';
import { rebuildSession, sessionTimeline } from '../replay/index.js';
import { type EventStore, EventStoreError, type StoredSession } from '../store/index.js';
import type { DurableIdentity, EngineStats, SessionEngine, SessionInspection } from './types.js';

export interface EmbeddedEngineOptions {
  readonly registry: SessionRegistry;
  /** The log the registry writes (for reads: identities, events, timelines). */
  readonly store: EventStore;
  /** Closed by `close()` after the registry stopped. Default true. */
  readonly closeStore?: boolean;
  /** The memories the log's replies become (kept beside it, see openSqliteMemories); none by default. Closed with the store. */
  readonly memories?: MemoryStore;
  /** What `description.location` names: the log file. */
  readonly location?: string;
  /** Timeline entries `inspect()` returns at most (the newest). Default 1,000. */
  readonly maxTimelineEntries?: number;
  readonly now?: () => number;
}

function identityOf(stored: StoredSession, livePromptNumber: number | undefined): DurableIdentity {
  return {
    sessionDbId: stored.sessionDbId,
    contentSessionId: stored.contentSessionId,
    project: stored.project,
    createdAt: stored.createdAt,
    lastPromptNumber: Math.max(stored.lastPromptNumber, livePromptNumber ?? 0),
    stream: { status: stored.status, lastSeq: stored.lastSeq, disposal: stored.disposal, summary: stored.summary },
  };
}

export function createEmbeddedEngine(options: EmbeddedEngineOptions): SessionEngine {
  const { registry, store } = options;
  const now = options.now ?? Date.now;
  const maxTimelineEntries = options.maxTimelineEntries ?? 1_000;
  const stored = (target: SessionTarget) =>
    'sessionDbId' in target ? store.getSession(target.sessionDbId) : store.findSession(target.contentSessionId);
  // A live session answers without the log; only a session not in memory costs a read.
  const hasPublicPrompt = (target: SessionTarget) =>
    (registry.get(target)?.promptNumber ?? 0) > 0 || (stored(target)?.lastPromptNumber ?? 0) > 0;

  return {
    description: { kind: 'embedded', location: options.location ?? 'memory', ownership: 'exclusive' },
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
    enqueue: async (target, work) => {
      const { requirePrompt, ...request } = work;
      if (requirePrompt === true && !hasPublicPrompt(target)) return { ok: false, error: 'not-prompted' };
      return registry.enqueue(target, request);
    },
    touch: (target) => registry.touch(target),
    complete: (target) => registry.complete(target),
    delete: (target) => registry.delete(target),

    get: async (target) => registry.get(target),
    list: async () => registry.list(),
    identity: async (target) => {
      const found = stored(target);
      return found === undefined ? undefined : identityOf(found, registry.get(target)?.promptNumber);
    },
    openIdentity: async (contentSessionId, project): Promise<DurableIdentity | Refusal> => {
      try {
        const opened = store.openSession(contentSessionId, project, now());
        return identityOf(opened, registry.get({ contentSessionId })?.promptNumber);
      } catch (error) {
        if (!(error instanceof EventStoreError && error.code === 'write-failed')) throw error;
        return { ok: false, error: 'log-unwritable', message: error.message, retryAfterMs: 1_000 };
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
        identity: identityOf(found, view?.promptNumber),
        view,
        context: rebuilt?.context ?? null,
        timeline: { entries: entries.slice(-maxTimelineEntries), total: entries.length, skipped: timeline?.skipped.length ?? 0 },
      };
    },

    health: async () => registry.health(),
    stats: async (): Promise<EngineStats> => {
      const stats = registry.stats();
      return {
        live: stats.live,
        byLifecycle: stats.byLifecycle,
        byState: stats.byState,
        slots: stats.slots,
        disposals: stats.disposals,
        totals: stats.totals,
        usageByProvider: stats.usageByProvider,
        dormant: stats.dormant,
        frozen: stats.frozen,
      };
    },
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
