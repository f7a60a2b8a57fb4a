/**
 * The Restate engine: every command goes to a Restate cluster's ingress (src/cluster's client), where
 * the session objects run the same machine. This process holds no session, no log and no lock: any
 * number of workers may front one cluster. A command answers once Restate has committed its event (the
 * ingress answers only then); each carries an idempotency key, so the client's retries (a lost answer,
 * a node going down) apply it once.
 * May not: keep any session state of its own beyond caches of facts that never change.
 */
import { randomUUID } from 'node:crypto';
import { type SessionCounters, ZERO_COUNTERS } from '../../machines/session.machine.js';
import { type ClusterRefusal, type ConnectOptions, connectSessionCluster, type IdentityRecord } from '../cluster/index.js';
import type { MemoryStore } from '../memories/index.js';
import type { CommandResult, EnqueueResult, InitResult, Refusal, SessionDisposed, SessionTarget } from '../registry/index.js';
import { addUsage, describeSession, type SessionView, usageSum } from '../session/index.js';
import { EngineUnavailableError, unavailableReason } from './errors.js';
import type { DurableIdentity, EngineHealth, EngineRefusal, EngineStats, SessionEngine, SessionInspection } from './types.js';

export interface RestateEngineOptions extends ConnectOptions {
  /** How often disposals are read from the cluster for listeners (the dashboard, metrics). Default 2 s. */
  readonly pollMs?: number;
  /** Live sessions read at once when listing them. Default 32. */
  readonly listConcurrency?: number;
  /** `stats()` is shared by callers within this long (the dashboard and a metrics scrape). Default 1 s. */
  readonly statsCacheMs?: number;
  readonly now?: () => number;
  /**
   * Called when Restate goes out of reach and when it answers again (the worker logs both), with the
   * health as it now is. Also called for the first failure of `start()`, which waits until it answers.
   */
  readonly onReachabilityChange?: (health: EngineHealth) => void;
  /**
   * Where the cluster's service processes keep the replies' memories (PostgreSQL: openPostgresMemories),
   * read here by the memory routes and the dashboard; closed with the engine. Default none.
   */
  readonly memories?: MemoryStore;
}

const RETRY_AFTER_MS = 2_000;
/** What a full queue tells the caller to wait, as the embedded registry's default. */
const QUEUE_FULL_RETRY_AFTER_MS = 5_000;

/** The cluster's refusals in the registry's vocabulary. */
function refusalOf(refusal: ClusterRefusal): Refusal | EngineRefusal {
  return refusal.error === 'queue-full' ? { ok: false, error: 'queue-full', retryAfterMs: QUEUE_FULL_RETRY_AFTER_MS } : refusal;
}

function identityOf(record: IdentityRecord): DurableIdentity {
  return {
    sessionDbId: record.sessionDbId,
    contentSessionId: record.contentSessionId,
    project: record.project,
    createdAt: record.createdAt,
    lastPromptNumber: record.lastPromptNumber,
    stream: {
      status: record.status,
      lastSeq: record.lastSeq,
      disposal: record.status === 'live' ? null : record.disposal,
      summary: record.summary,
    },
  };
}

/** Runs `work` on every item with at most `limit` at a time. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export function connectRestateEngine(options: RestateEngineOptions): SessionEngine {
  const client = connectSessionCluster(options);
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 2_000;
  const retryForMs = options.retryForMs ?? 20_000;
  const health: { writable: boolean; error: string | null; since: number | null; failedWrites: number } = {
    writable: true,
    error: null,
    since: null,
    failedWrites: 0,
  };
  let closed = false;

  /** Every ingress call: a success says Restate is reachable, a failure of reach says it is not (and why). */
  const reported = (): EngineHealth => ({
    writable: health.writable,
    location: options.ingressUrl,
    error: health.error,
    since: health.since,
    failedWrites: health.failedWrites,
  });
  async function reach<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      if (!health.writable) {
        const down = { ...reported() };
        Object.assign(health, { writable: true, error: null, since: null });
        // The health it had while down (since when, why), now that it is back.
        options.onReachabilityChange?.({ ...down, writable: true });
      }
      return result;
    } catch (error) {
      const reason = unavailableReason(error, options.ingressUrl);
      if (reason === undefined) throw error;
      health.failedWrites++;
      if (health.writable) {
        Object.assign(health, { writable: false, error: reason, since: now() });
        options.onReachabilityChange?.(reported());
      } else health.error = reason;
      throw new EngineUnavailableError(reason, RETRY_AFTER_MS);
    }
  }

  /**
   * A read. Reads carry no idempotency key (they change nothing), so the client does not retry them;
   * this does, within the commands' time budget, while Restate was reachable when the read began (a
   * node failing over). Once it is known to be out of reach, a read fails at once (503), so that pages
   * and probes do not pile up behind an outage.
   */
  async function read<T>(call: () => Promise<T>): Promise<T> {
    const started = now();
    for (let wait = 100; ; wait = Math.min(1_000, wait * 2)) {
      const reachable = health.writable;
      try {
        return await reach(call);
      } catch (error) {
        if (!(error instanceof EngineUnavailableError) || !reachable || closed || now() - started + wait > retryForMs) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A command: one idempotency key for all its ingress calls; a cluster out of reach is a refusal, not an error. */
  async function command<T>(call: (idempotencyKey: string) => Promise<T>): Promise<T | Refusal | EngineRefusal> {
    if (closed) return { ok: false, error: 'shutting-down' };
    try {
      const result = await reach(() => call(randomUUID()));
      const refused = result as { ok?: boolean } & ClusterRefusal;
      return refused?.ok === false ? refusalOf(refused) : result;
    } catch (error) {
      if (!(error instanceof EngineUnavailableError)) throw error;
      return { ok: false, error: 'engine-unavailable', message: error.message, retryAfterMs: error.retryAfterMs };
    }
  }

  const idOf = async (target: SessionTarget) =>
    'sessionDbId' in target ? target.sessionDbId : read(() => client.lookup(target.contentSessionId));

  async function identity(target: SessionTarget): Promise<DurableIdentity | undefined> {
    const sessionDbId = await idOf(target);
    if (sessionDbId === null) return undefined;
    const record = await read(() => client.identity(sessionDbId));
    return record === null ? undefined : identityOf(record);
  }

  async function list(): Promise<SessionView[]> {
    const ids = await read(() => client.live());
    const views = await mapLimited(ids, options.listConcurrency ?? 32, (sessionDbId) => read(() => client.get(sessionDbId)));
    return views.filter((view): view is SessionView => view !== null).sort((a, b) => a.sessionDbId - b.sessionDbId);
  }

  let statsReading: { at: number; stats: Promise<EngineStats> } | undefined;
  async function readStats(): Promise<EngineStats> {
    const [views, slots, summary] = await Promise.all([list(), read(() => client.slots()), read(() => client.summary())]);
    const byLifecycle = { active: 0, idle: 0, expiring: 0 };
    const byState: Record<string, number> = {};
    const totals = { ...ZERO_COUNTERS, ...summary.disposedTotals } as Record<keyof SessionCounters, number>;
    const usageByProvider = usageSum();
    addUsage(usageByProvider, summary.disposedUsage);
    for (const view of views) {
      if (view.lifecycle !== 'disposed') byLifecycle[view.lifecycle]++;
      byState[view.state] = (byState[view.state] ?? 0) + 1;
      for (const key of Object.keys(totals) as (keyof SessionCounters)[]) totals[key] += view.counters[key] ?? 0;
      addUsage(usageByProvider, view.usageByProvider);
    }
    return {
      live: views.length,
      byLifecycle,
      byState,
      slots: { capacity: slots.capacity, inUse: slots.inUse, waiting: slots.waiting, granted: slots.granted },
      disposals: summary.disposals,
      totals,
      usageByProvider,
      dormant: null,
      frozen: null,
    };
  }

  // Disposals, read from the cluster's index every `pollMs` while anyone listens: those after the first reading.
  const disposedListeners = new Set<(disposed: SessionDisposed) => void>();
  let poller: NodeJS.Timeout | undefined;
  let lastDisposalSeq: number | undefined;
  async function pollDisposals(): Promise<void> {
    const { recent } = await reach(() => client.summary());
    const newest = recent.at(-1)?.seq ?? 0;
    if (lastDisposalSeq !== undefined) {
      for (const disposal of recent) {
        if (disposal.seq <= lastDisposalSeq) continue;
        const { seq: _seq, ...disposed } = disposal;
        for (const listener of disposedListeners) listener(disposed);
      }
    }
    lastDisposalSeq = Math.max(lastDisposalSeq ?? 0, newest);
  }
  const startPolling = () => {
    if (poller !== undefined || closed) return;
    let busy = false;
    poller = setInterval(() => {
      if (busy) return;
      busy = true;
      pollDisposals()
        .catch(() => {}) // unreachable: health says so; the next reading catches up (the index keeps the newest 100)
        .finally(() => {
          busy = false;
        });
    }, pollMs);
    poller.unref();
    pollDisposals().catch(() => {});
  };

  return {
    description: { kind: 'restate', location: options.ingressUrl, ownership: 'shared' },
    notifications: { disposed: 'polled', processed: null, slotGranted: null, pollMs },
    // The cluster's memory store when one is configured; none: nothing is remembered (docs/scale-out.md).
    memories: options.memories ?? null,

    async start() {
      const started = now();
      // Ready once the session services answer through the ingress (registered, a partition leader elected).
      for (;;) {
        try {
          await reach(() => client.slots());
          break;
        } catch (error) {
          if (!(error instanceof EngineUnavailableError) || closed) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      return { sessions: null, durationMs: now() - started, detail: { ingressUrl: options.ingressUrl } };
    },
    init: (target, request) =>
      command((idempotencyKey) => client.init(target, request, { idempotencyKey })) as Promise<InitResult | EngineRefusal>,
    enqueue: (target, work) =>
      command((idempotencyKey) => client.enqueue(target, work, { idempotencyKey })) as Promise<EnqueueResult | EngineRefusal>,
    touch: (target) => command((idempotencyKey) => client.touch(target, { idempotencyKey })) as Promise<CommandResult | EngineRefusal>,
    complete: (target) =>
      command((idempotencyKey) => client.complete(target, { idempotencyKey })) as Promise<CommandResult | EngineRefusal>,
    delete: (target) => command((idempotencyKey) => client.delete(target, { idempotencyKey })) as Promise<CommandResult | EngineRefusal>,

    async get(target) {
      const sessionDbId = await idOf(target);
      if (sessionDbId === null) return undefined;
      return (await read(() => client.get(sessionDbId))) ?? undefined;
    },
    list,
    identity,
    async openIdentity(contentSessionId, project) {
      const opened = await command((idempotencyKey) => client.open(contentSessionId, project, { idempotencyKey }));
      if (typeof opened !== 'number') return opened;
      const record = await read(() => client.identity(opened));
      if (record === null) throw new Error(`session ${opened} was opened but has no identity`);
      return identityOf(record);
    },
    async events(sessionDbId, page = {}) {
      if ((await identity({ sessionDbId })) === undefined) return undefined;
      const { entries } = await read(() => client.events(sessionDbId, page));
      return entries.map(({ seq, type, at, payload }) => ({ seq, type, at, payload }));
    },
    async inspect(sessionDbId): Promise<SessionInspection | undefined> {
      const found = await identity({ sessionDbId });
      if (found === undefined) return undefined;
      const [state, timeline] = await Promise.all([read(() => client.state(sessionDbId)), read(() => client.timeline(sessionDbId))]);
      return {
        identity: found,
        view: state === null ? null : describeSession(state.value, state.context),
        context: state?.context ?? null,
        timeline: {
          entries: timeline.entries.map(({ payload: _payload, ...entry }) => entry),
          total: timeline.entries.length + timeline.dropped,
          skipped: 0,
        },
      };
    },

    async health(): Promise<EngineHealth> {
      // While out of reach, each health reading is also the probe that notices the way back.
      if (!health.writable && !closed) await reach(() => client.slots()).catch(() => {});
      return reported();
    },
    stats() {
      const cacheMs = options.statsCacheMs ?? 1_000;
      if (statsReading === undefined || now() - statsReading.at > cacheMs) {
        const reading = { at: now(), stats: readStats() };
        statsReading = reading;
        reading.stats.catch(() => {
          if (statsReading === reading) statsReading = undefined;
        });
      }
      return statsReading.stats;
    },
    on(event, listener) {
      if (event !== 'disposed') return () => {}; // not announced by this engine (see `notifications`)
      const typed = listener as (disposed: SessionDisposed) => void;
      disposedListeners.add(typed);
      startPolling();
      return () => {
        disposedListeners.delete(typed);
        if (disposedListeners.size === 0) {
          clearInterval(poller);
          poller = undefined;
        }
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poller);
      poller = undefined;
      await options.memories?.close();
    },
  };
}
