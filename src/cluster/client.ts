import * as clients from '@restatedev/restate-sdk-clients';
import type { SessionView } from '../session/index.js';
import type { SessionDirectory } from './directory.js';
import type { MachineState } from './machine.js';
import { INDEX_KEY, type IndexSummary, type SessionIndexObject } from './session-index.js';
import type { ClusterRefusal, IdentityRecord, SessionObject, WorkRequest } from './session-object.js';
import { SLOT_POOL_KEY, type SlotPoolObject, type SlotPoolView } from './slots.js';
import type { TimelineEntry, TimelineObject, TimelinePage } from './timeline.js';

/** A session by its integer id, or by the content session id claude-mem's hooks send. */
export type ClusterTarget = { readonly sessionDbId: number } | { readonly contentSessionId: string; readonly project?: string };

export type ClusterResult<T> = ({ readonly ok: true; readonly sessionDbId: number } & T) | ClusterRefusal;

/**
 * A command's idempotency key: every ingress call it makes carries it (suffixed per step), so a call
 * retried after a lost answer or a failed node is applied once. Restate keeps the key for a day.
 */
export interface CommandOptions {
  readonly idempotencyKey?: string;
}

export interface SessionClusterClient {
  /** Starts or revives a session with a prompt (its next work item). Answers once the event is durable in Restate. */
  init(
    target: ClusterTarget,
    request: { prompt: string; promptNumber?: number },
    options?: CommandOptions,
  ): Promise<ClusterResult<{ promptNumber: number; created: boolean }>>;
  /** Queues work; creates the session for a content session seen for the first time (unless `requirePrompt`). */
  enqueue(
    target: ClusterTarget,
    work: WorkRequest,
    options?: CommandOptions,
  ): Promise<ClusterResult<{ status: 'queued' | 'duplicate'; queueLength: number }>>;
  touch(target: ClusterTarget, options?: CommandOptions): Promise<ClusterResult<object>>;
  complete(target: ClusterTarget, options?: CommandOptions): Promise<ClusterResult<object>>;
  delete(target: ClusterTarget, options?: CommandOptions): Promise<ClusterResult<object>>;
  /** The session of a content session, opened (numbered, its identity recorded) if it is new; records no event. */
  open(contentSessionId: string, project: string, options?: CommandOptions): Promise<number>;
  /** The sessionDbId a content session was given, or null if it was never seen. */
  lookup(contentSessionId: string): Promise<number | null>;
  /** The live session, or null once it is disposed (or never was). */
  get(sessionDbId: number): Promise<SessionView | null>;
  /** The live machine's state value and full context (history included). */
  state(sessionDbId: number): Promise<MachineState | null>;
  /** Who the session is and how its stream stands, live or not; null if it was never opened. */
  identity(sessionDbId: number): Promise<IdentityRecord | null>;
  /** Its recorded events with seq > `after` (the timeline object's and those not yet sent there), oldest first. */
  events(sessionDbId: number, page?: { readonly after?: number; readonly limit?: number }): Promise<TimelinePage>;
  /** Every event it has (at most the newest `timelineEntries`). */
  timeline(sessionDbId: number): Promise<TimelinePage>;
  /** The sessionDbIds of every live session of the cluster. */
  live(): Promise<number[]>;
  /** Disposals since the cluster began, the newest of them, the disposed sessions' counters. */
  summary(): Promise<IndexSummary>;
  slots(): Promise<SlotPoolView>;
}

export interface ConnectOptions {
  readonly ingressUrl: string;
  readonly headers?: Record<string, string>;
  /** One attempt of an ingress call gives up after this long (default 10 s). */
  readonly attemptTimeoutMs?: number;
  /** Calls with an idempotency key are retried (network errors, 5xx) for this long in all (default 20 s). */
  readonly retryForMs?: number;
  /** Content sessions whose sessionDbId is remembered (default 10,000): the mapping never changes, so a hit saves a call. */
  readonly cachedIds?: number;
}

const sessionApi: SessionObject = { name: 'session' };
const timelineApi: TimelineObject = { name: 'sessionTimeline' };
const directoryApi: SessionDirectory = { name: 'sessionDirectory' };
const slotsApi: SlotPoolObject = { name: 'agentSlots' };
const indexApi: SessionIndexObject = { name: 'sessionIndex' };

/** Talks to the session engine through a Restate ingress (any node of the cluster). */
export function connectSessionCluster(options: ConnectOptions): SessionClusterClient {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const ingress = clients.connect({
    url: options.ingressUrl,
    ...(options.headers ? { headers: options.headers } : {}),
    retry: { maxDuration: options.retryForMs ?? 20_000, initialInterval: 100, maxInterval: 2_000 },
  });
  const session = (sessionDbId: number) => ingress.objectClient(sessionApi, String(sessionDbId));
  const cachedIds = options.cachedIds ?? 10_000;
  const ids = new Map<string, number>();
  const remember = (contentSessionId: string, sessionDbId: number) => {
    if (ids.size >= cachedIds) ids.delete(ids.keys().next().value!);
    ids.set(contentSessionId, sessionDbId);
  };
  /** Options of one step of a command: its own key (derived from the command's), the attempt timeout. */
  const step = <I, O>(commandOptions: CommandOptions | undefined, name: string) =>
    clients.rpc.opts<I, O>({
      timeout: attemptTimeoutMs,
      ...(commandOptions?.idempotencyKey === undefined ? {} : { idempotencyKey: `${commandOptions.idempotencyKey}/${name}` }),
    });
  const read = <I, O>() => clients.rpc.opts<I, O>({ timeout: attemptTimeoutMs });

  async function open(contentSessionId: string, project: string, commandOptions?: CommandOptions): Promise<number> {
    const known = ids.get(contentSessionId);
    if (known !== undefined) return known;
    const { sessionDbId } = await ingress.objectClient(directoryApi, contentSessionId).open({ project }, step(commandOptions, 'open'));
    remember(contentSessionId, sessionDbId);
    return sessionDbId;
  }

  async function lookup(contentSessionId: string): Promise<number | null> {
    const known = ids.get(contentSessionId);
    if (known !== undefined) return known;
    const sessionDbId = await ingress.objectClient(directoryApi, contentSessionId).lookup(read());
    if (sessionDbId !== null) remember(contentSessionId, sessionDbId);
    return sessionDbId;
  }

  const idOf = async (target: ClusterTarget, create: boolean, commandOptions?: CommandOptions) =>
    'sessionDbId' in target
      ? target.sessionDbId
      : create
        ? open(target.contentSessionId, target.project ?? '', commandOptions)
        : lookup(target.contentSessionId);

  async function command(
    target: ClusterTarget,
    name: 'touch' | 'complete' | 'delete',
    commandOptions?: CommandOptions,
  ): Promise<ClusterResult<object>> {
    const sessionDbId = await idOf(target, false);
    if (sessionDbId === null) return { ok: false, error: 'not-found' };
    const result = await session(sessionDbId)[name](step(commandOptions, name));
    return result.ok ? { ok: true, sessionDbId } : result;
  }

  async function events(sessionDbId: number, page: { readonly after?: number; readonly limit?: number } = {}): Promise<TimelinePage> {
    // The session's unsent entries first: a batch sent between the two reads is then in the timeline's answer.
    const pending = await session(sessionDbId).pending(read());
    const flushed = await ingress.objectClient(timelineApi, String(sessionDbId)).page(page, read());
    const after = Math.max(page.after ?? 0, flushed.entries.at(-1)?.seq ?? 0);
    const entries: TimelineEntry[] = [...flushed.entries, ...pending.filter((entry) => entry.seq > after)];
    return { entries: page.limit === undefined ? entries : entries.slice(0, page.limit), dropped: flushed.dropped };
  }

  return {
    async init(target, request, commandOptions) {
      const sessionDbId = (await idOf(target, true, commandOptions))!;
      const result = await session(sessionDbId).init(request, step(commandOptions, 'init'));
      return result.ok ? { ...result, sessionDbId } : result;
    },
    async enqueue(target, work, commandOptions) {
      // Work that needs a prompt never opens a session: an unknown content session has had none.
      const sessionDbId = await idOf(target, work.requirePrompt !== true, commandOptions);
      if (sessionDbId === null) return { ok: false, error: 'not-prompted' };
      const result = await session(sessionDbId).enqueue(work, step(commandOptions, 'enqueue'));
      return result.ok ? { ok: true, status: result.status, queueLength: result.queueLength, sessionDbId } : result;
    },
    touch: (target, commandOptions) => command(target, 'touch', commandOptions),
    complete: (target, commandOptions) => command(target, 'complete', commandOptions),
    delete: (target, commandOptions) => command(target, 'delete', commandOptions),
    open,
    lookup,
    get: async (sessionDbId) => session(sessionDbId).get(read()),
    state: async (sessionDbId) => session(sessionDbId).state(read()),
    identity: async (sessionDbId) => session(sessionDbId).identity(read()),
    events,
    timeline: (sessionDbId) => events(sessionDbId),
    live: async () => ingress.objectClient(indexApi, INDEX_KEY).live(read()),
    summary: async () => ingress.objectClient(indexApi, INDEX_KEY).summary(read()),
    slots: async () => ingress.objectClient(slotsApi, SLOT_POOL_KEY).stats(read()),
  };
}

/**
 * Registers (or re-registers) a service deployment with Restate's admin API, so that its services are
 * reachable through the ingress. `force` replaces a deployment at the same URL (a restarted process).
 */
export async function registerSessionService(
  adminUrl: string,
  serviceUrl: string,
  options: { readonly force?: boolean } = {},
): Promise<void> {
  const response = await fetch(`${adminUrl.replace(/\/+$/, '')}/deployments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ uri: serviceUrl, force: options.force ?? true }),
  });
  if (!response.ok) throw new Error(`registering ${serviceUrl} with ${adminUrl} failed: ${response.status} ${await response.text()}`);
}
