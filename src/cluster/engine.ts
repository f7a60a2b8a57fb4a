/**
 * The Restate engine: the engine contract over a Restate cluster's ingress, where the session objects
 * run the same machine and the same command rules. This process holds no session, no log and no lock:
 * any number of workers may front one cluster. A command answers once Restate has committed its event
 * (the ingress answers only then); each carries an idempotency key (suffixed per ingress call), so a
 * call retried after a lost answer or a node going down is applied once.
 * May not: keep any session state of its own beyond caches of facts that never change (content session → id).
 */
import { randomUUID } from 'node:crypto';
import * as clients from '@restatedev/restate-sdk-clients';
import { z } from 'zod';
import {
  type CommandResult,
  count,
  type DurableIdentity,
  durableIdentity,
  type EngineCapabilities,
  type EngineHealth,
  type EngineStats,
  EngineUnavailableError,
  parseOptions,
  positiveMs,
  type Refusal,
  type SessionDisposed,
  type SessionEngine,
  type SessionInspection,
  type SessionTarget,
} from '../engine/index.js';
import type { MemoryStore } from '../memories/index.js';
import { describeSession, type SessionView } from '../session/index.js';
import { clusterStats, DisposalPoller, mapLimited } from './cluster-stats.js';
import { RESERVE_COUNT } from './directory.js';
import { directoryApi, ID_KEY, INDEX_KEY, idsApi, indexApi, SLOT_POOL_KEY, sessionApi, slotsApi, timelineApi } from './handles.js';
import { Reachability } from './reach.js';
import type { TimelineEntry, TimelinePage } from './timeline.js';

/** What the Restate engine can do, for the routes, the metrics and the dashboard (docs/scale-out.md says why each). */
export const RESTATE_CAPABILITIES: EngineCapabilities = {
  capacity: false,
  memoryPressure: false,
  dormancy: false,
  localLog: false,
  inspector: false,
  unwritable: 'engine-unavailable',
};

export interface RestateEngineOptions {
  /** Any node's ingress, e.g. http://127.0.0.1:8080. Required. */
  readonly ingressUrl: string;
  /** Sent with every ingress call (an authenticating proxy's credentials). Default none. */
  readonly headers?: Record<string, string>;
  /** One attempt of an ingress call gives up after this long. Default 10 s: a healthy cluster answers in milliseconds. */
  readonly attemptTimeoutMs?: number;
  /**
   * How long a command is retried (network errors, 5xx), with the same idempotency key, before it is
   * refused `engine-unavailable`; reads retry within the same budget while Restate was reachable when
   * they began. Default 20 s (CLAUDE_MEM_RESTATE_CALL_TIMEOUT_SECONDS): a node's failover takes seconds.
   */
  readonly retryForMs?: number;
  /** Content sessions whose sessionDbId is remembered. Default 10,000: the mapping never changes, so a hit saves a call. */
  readonly cachedIds?: number;
  /**
   * Session ids reserved from the cluster's counter at once, offered one by one to the directory with
   * content sessions this worker has not seen. Default 64: one counter call per 64 new sessions; the
   * ids of a block a worker never used (it stopped) are skipped, as an autoincrement's after a rollback.
   */
  readonly reservedIds?: number;
  /** How often disposals are read from the cluster for listeners (the dashboard, metrics). Default 2 s. */
  readonly pollMs?: number;
  /** Live sessions read at once when listing them. Default 32: enough to list hundreds within a dashboard refresh. */
  readonly listConcurrency?: number;
  /** `stats()` is shared by callers within this long (the dashboard and a metrics scrape). Default 1 s. */
  readonly statsCacheMs?: number;
  /**
   * Where time is read: each `init` and enqueue's time (the `at` of the events they log, from which the
   * session's deadlines count), when Restate went out of reach, the stats' age. Default `Date.now`, so
   * keep the workers' clocks synchronised (docs/scale-out.md, "Clocks"); tests give their own.
   */
  readonly now?: () => number;
  /**
   * Called when Restate goes out of reach and when it answers again (the worker logs both), with the
   * health as it now is. Also called for the first failure of `start()`, which waits until it answers.
   * Default none: the health is still in `health()`.
   */
  readonly onReachabilityChange?: (health: EngineHealth) => void;
  /**
   * Where the cluster's service processes keep the replies' memories (PostgreSQL: openPostgresMemories),
   * read here by the memory routes and the dashboard; closed with the engine. Default none.
   */
  readonly memories?: MemoryStore;
}

/** The numeric options and their defaults (each said, with why, where RestateEngineOptions declares it). */
const ENGINE_NUMBERS = z.object({
  retryForMs: positiveMs,
  attemptTimeoutMs: positiveMs,
  reservedIds: RESERVE_COUNT,
  cachedIds: count,
  pollMs: positiveMs,
  listConcurrency: count,
  statsCacheMs: z.number().nonnegative(),
});
const ENGINE_DEFAULTS = {
  retryForMs: 20_000,
  attemptTimeoutMs: 10_000,
  reservedIds: 64,
  cachedIds: 10_000,
  pollMs: 2_000,
  listConcurrency: 32,
  statsCacheMs: 1_000,
};

export function connectRestateEngine(options: RestateEngineOptions): SessionEngine {
  const numbers = parseOptions(ENGINE_NUMBERS, ENGINE_DEFAULTS, options, 'connectRestateEngine');
  const now = options.now ?? Date.now;
  const { pollMs, retryForMs, attemptTimeoutMs } = numbers;
  const reachability = new Reachability(options.ingressUrl, now, options.onReachabilityChange);
  const reach = <T>(call: () => PromiseLike<T>) => reachability.reach(call);
  let closed = false;

  const ingress = clients.connect({
    url: options.ingressUrl,
    ...(options.headers ? { headers: options.headers } : {}),
    retry: { maxDuration: retryForMs, initialInterval: 100, maxInterval: 2_000 },
  });
  const session = (sessionDbId: number) => ingress.objectClient(sessionApi, String(sessionDbId));
  /** One ingress call of a command: its own key, derived from the command's, and the attempt timeout. */
  const step = <I, O>(idempotencyKey: string, name: string) =>
    clients.rpc.opts<I, O>({ timeout: attemptTimeoutMs, idempotencyKey: `${idempotencyKey}/${name}` });
  const readOnly = <I, O>() => clients.rpc.opts<I, O>({ timeout: attemptTimeoutMs });

  // Content session → sessionDbId: the mapping never changes, so it is cached (the oldest goes first).
  const ids = new Map<string, number>();
  const remember = (contentSessionId: string, sessionDbId: number) => {
    if (ids.size >= numbers.cachedIds) ids.delete(ids.keys().next().value!);
    ids.set(contentSessionId, sessionDbId);
  };

  /**
   * A read. Reads carry no idempotency key (they change nothing), so the client does not retry them;
   * this does, within the commands' time budget, while Restate was reachable when the read began (a
   * node failing over). Once it is known to be out of reach, a read fails at once (503), so that pages
   * and probes do not pile up behind an outage.
   */
  async function read<T>(call: () => PromiseLike<T>): Promise<T> {
    const started = now();
    for (let wait = 100; ; wait = Math.min(1_000, wait * 2)) {
      const reachable = reachability.reachable;
      try {
        return await reach(call);
      } catch (error) {
        if (!(error instanceof EngineUnavailableError) || !reachable || closed || now() - started + wait > retryForMs) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A command: one idempotency key for all its ingress calls; a cluster out of reach is a refusal, not an error. */
  async function command<T extends { readonly ok: boolean }>(
    call: (idempotencyKey: string) => PromiseLike<T | Refusal>,
  ): Promise<T | Refusal> {
    if (closed) return { ok: false, error: 'shutting-down' };
    try {
      return await reach(() => call(randomUUID()));
    } catch (error) {
      if (!(error instanceof EngineUnavailableError)) throw error;
      return { ok: false, error: 'engine-unavailable', message: error.message, retryAfterMs: error.retryAfterMs };
    }
  }

  const directoryOf = (contentSessionId: string) => ingress.objectClient(directoryApi, contentSessionId);

  // Ids reserved from the counter and not yet given: a content session the directory numbers takes one.
  const spareIds: number[] = [];
  let reserving: Promise<void> | undefined;
  async function candidateId(): Promise<number> {
    while (spareIds.length === 0) {
      reserving ??= (async () => {
        try {
          const count = numbers.reservedIds;
          const block = await ingress.objectClient(idsApi, ID_KEY).reserve({ count }, step(randomUUID(), 'reserve'));
          for (let id = block.first; id < block.first + block.count; id++) spareIds.push(id);
        } finally {
          reserving = undefined;
        }
      })();
      await reserving;
    }
    return spareIds.shift()!;
  }
  /** An id offered with a call whose answer is known: kept for the next content session when the directory did not take it. */
  const settle = (candidate: number, opened: boolean) => {
    if (!opened) spareIds.unshift(candidate);
  };

  /**
   * A call to the directory of a content session not cached here, offering it a reserved id: the id goes
   * back to the spares if the directory did not take it, and the content session's id is cached.
   */
  async function throughDirectory<T extends { readonly sessionDbId: number; readonly opened: boolean }>(
    contentSessionId: string,
    call: (directory: ReturnType<typeof directoryOf>, candidate: number) => PromiseLike<T>,
  ): Promise<T> {
    const candidate = await candidateId();
    const answer = await call(directoryOf(contentSessionId), candidate);
    settle(candidate, answer.opened);
    remember(contentSessionId, answer.sessionDbId);
    return answer;
  }

  /** The session of a content session, opened (numbered, its identity recorded) if it is new; records no event. */
  async function open(contentSessionId: string, project: string, idempotencyKey: string): Promise<number> {
    const known = ids.get(contentSessionId);
    if (known !== undefined) return known;
    const { sessionDbId } = await throughDirectory(contentSessionId, (found, candidate) =>
      found.open({ project, candidate }, step(idempotencyKey, 'open')),
    );
    return sessionDbId;
  }

  /** The sessionDbId a content session was given, or null if it was never seen. */
  async function lookup(contentSessionId: string): Promise<number | null> {
    const known = ids.get(contentSessionId);
    if (known !== undefined) return known;
    const sessionDbId = await directoryOf(contentSessionId).lookup(readOnly());
    if (sessionDbId !== null) remember(contentSessionId, sessionDbId);
    return sessionDbId;
  }

  const idOf = (target: SessionTarget) => ('sessionDbId' in target ? target.sessionDbId : lookup(target.contentSessionId));

  /** touch, complete, delete: for a live session only. */
  const endOrTouch = (target: SessionTarget, name: 'touch' | 'complete' | 'delete') =>
    command<CommandResult>(async (key) => {
      const sessionDbId = await idOf(target);
      if (sessionDbId === null) return { ok: false, error: 'not-found' };
      return session(sessionDbId)[name](step(key, name));
    });

  async function identity(target: SessionTarget): Promise<DurableIdentity | undefined> {
    const sessionDbId = await read(async () => idOf(target));
    if (sessionDbId === null) return undefined;
    const record = await read(() => session(sessionDbId).identity(readOnly()));
    return record === null ? undefined : durableIdentity(record);
  }

  /** A session's recorded events with seq > `after`: the timeline object's, then those the session has not sent there yet. */
  async function timeline(sessionDbId: number, page: { readonly after?: number; readonly limit?: number } = {}): Promise<TimelinePage> {
    // The session's unsent entries first: a batch sent between the two reads is then in the timeline's answer.
    const pending = await session(sessionDbId).pending(readOnly());
    const flushed = await ingress.objectClient(timelineApi, String(sessionDbId)).page(page, readOnly());
    const after = Math.max(page.after ?? 0, flushed.entries.at(-1)?.seq ?? 0);
    const entries: TimelineEntry[] = [...flushed.entries, ...pending.filter((entry) => entry.seq > after)];
    return { entries: page.limit === undefined ? entries : entries.slice(0, page.limit), dropped: flushed.dropped };
  }

  const slots = () => ingress.objectClient(slotsApi, SLOT_POOL_KEY).stats(readOnly());
  const summary = () => ingress.objectClient(indexApi, INDEX_KEY).summary(readOnly());

  async function list(): Promise<SessionView[]> {
    const live = await read(() => ingress.objectClient(indexApi, INDEX_KEY).live(readOnly()));
    const views = await mapLimited(live, numbers.listConcurrency, (sessionDbId) => read(() => session(sessionDbId).get(readOnly())));
    return views.filter((view): view is SessionView => view !== null).sort((a, b) => a.sessionDbId - b.sessionDbId);
  }

  let statsReading: { at: number; stats: Promise<EngineStats> } | undefined;
  const readStats = async (): Promise<EngineStats> => {
    const [views, pool, index] = await Promise.all([list(), read(slots), read(summary)]);
    return clusterStats(views, pool, index);
  };
  const disposals = new DisposalPoller(() => reach(summary), pollMs);

  return {
    description: {
      kind: 'restate',
      location: options.ingressUrl,
      ownership: 'shared',
      starting: 'reaching its Restate cluster',
      afterStop: 'the sessions go on in the Restate cluster',
    },
    capabilities: RESTATE_CAPABILITIES,
    notifications: { disposed: 'polled', processed: null, slotGranted: null, pollMs },
    // The cluster's memory store when one is configured; none: nothing is remembered (docs/scale-out.md).
    memories: options.memories ?? null,

    async start() {
      const started = now();
      // Ready once the session services answer through the ingress (registered, a partition leader elected).
      for (;;) {
        try {
          await reach(slots);
          break;
        } catch (error) {
          if (!(error instanceof EngineUnavailableError) || closed) throw error;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      return { sessions: null, durationMs: now() - started, detail: { ingressUrl: options.ingressUrl } };
    },
    init: (target, request) =>
      command(async (key) => {
        // Stamped with this worker's clock as the call arrived: the session's turn reads no clock of its own.
        const stamped = { ...request, at: now() };
        if ('sessionDbId' in target) return session(target.sessionDbId).init(stamped, step(key, 'init'));
        const { contentSessionId, project } = target;
        const known = ids.get(contentSessionId);
        if (known !== undefined) return session(known).init(stamped, step(key, 'init'));
        // A content session not cached here: the directory opens it if it is new and passes the prompt on, in one call.
        const { result } = await throughDirectory(contentSessionId, (found, candidate) =>
          found.init({ project: project ?? '', candidate, prompt: stamped }, step(key, 'init')),
        );
        return result;
      }),
    enqueue: (target, work) =>
      command(async (key) => {
        // Work that needs a prompt never opens a session: an unknown content session has had none.
        const sessionDbId =
          'sessionDbId' in target
            ? target.sessionDbId
            : work.requirePrompt === true
              ? await lookup(target.contentSessionId)
              : await open(target.contentSessionId, target.project ?? '', key);
        if (sessionDbId === null) return { ok: false, error: 'not-prompted' };
        return session(sessionDbId).enqueue({ ...work, at: now() }, step(key, 'enqueue'));
      }),
    touch: (target) => endOrTouch(target, 'touch'),
    complete: (target) => endOrTouch(target, 'complete'),
    delete: (target) => endOrTouch(target, 'delete'),

    async get(target) {
      const sessionDbId = await read(async () => idOf(target));
      if (sessionDbId === null) return undefined;
      return (await read(() => session(sessionDbId).get(readOnly()))) ?? undefined;
    },
    list,
    identity,
    async openIdentity(contentSessionId, project) {
      const opened = await command(async (key) => ({ ok: true as const, sessionDbId: await open(contentSessionId, project, key) }));
      if (!opened.ok) return opened;
      const found = await identity({ sessionDbId: opened.sessionDbId });
      if (found === undefined) throw new Error(`session ${opened.sessionDbId} was opened but has no identity`);
      return found;
    },
    async events(sessionDbId, page = {}) {
      if ((await identity({ sessionDbId })) === undefined) return undefined;
      const { entries } = await read(() => timeline(sessionDbId, page));
      return entries.map(({ seq, type, at, payload }) => ({ seq, type, at, payload }));
    },
    async inspect(sessionDbId): Promise<SessionInspection | undefined> {
      const found = await identity({ sessionDbId });
      if (found === undefined) return undefined;
      const [state, entries] = await Promise.all([read(() => session(sessionDbId).state(readOnly())), read(() => timeline(sessionDbId))]);
      return {
        identity: found,
        view: state === null ? null : describeSession(state.value, state.context),
        context: state?.context ?? null,
        timeline: {
          entries: entries.entries.map(({ payload: _payload, ...entry }) => entry),
          total: entries.entries.length + entries.dropped,
          skipped: 0,
        },
      };
    },

    async health(): Promise<EngineHealth> {
      // While out of reach, each health reading is also the probe that notices the way back.
      if (!reachability.reachable && !closed) await reach(slots).catch(() => {});
      return reachability.health();
    },
    stats() {
      const cacheMs = numbers.statsCacheMs;
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
      // Only disposals are announced by this engine, polled (see `notifications`).
      if (event !== 'disposed' || closed) return () => {};
      return disposals.listen(listener as (disposed: SessionDisposed) => void);
    },
    async close() {
      if (closed) return;
      closed = true;
      disposals.stop();
      await options.memories?.close();
    },
  };
}
