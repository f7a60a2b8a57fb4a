import * as clients from '@restatedev/restate-sdk-clients';
import type { WorkKind } from '../../machines/session.machine.js';
import type { SessionView } from '../session/index.js';
import type { SessionDirectory } from './directory.js';
import type { MachineState } from './machine.js';
import type { ClusterRefusal, SessionIdentity, SessionObject } from './session-object.js';
import { SLOT_POOL_KEY, type SlotPoolObject, type SlotPoolView } from './slots.js';
import type { TimelineObject, TimelineView } from './timeline.js';

/** A session by its integer id, or by the content session id claude-mem's hooks send. */
export type ClusterTarget = { readonly sessionDbId: number } | { readonly contentSessionId: string; readonly project?: string };

export type ClusterResult<T> = ({ readonly ok: true; readonly sessionDbId: number } & T) | ClusterRefusal;

export interface SessionClusterClient {
  /** Starts or revives a session with a prompt (its next work item). Answers once the event is durable in Restate. */
  init(
    target: ClusterTarget,
    request: { prompt: string; promptNumber?: number },
  ): Promise<ClusterResult<{ promptNumber: number; created: boolean }>>;
  /** Queues work; creates the session for a content session seen for the first time. */
  enqueue(
    target: ClusterTarget,
    work: { kind: Exclude<WorkKind, 'prompt'>; prompt: string; toolUseId?: string },
  ): Promise<ClusterResult<{ status: 'queued' | 'duplicate'; queueLength: number }>>;
  touch(target: ClusterTarget): Promise<ClusterResult<object>>;
  complete(target: ClusterTarget): Promise<ClusterResult<object>>;
  delete(target: ClusterTarget): Promise<ClusterResult<object>>;
  /** The sessionDbId a content session was given, or null if it was never seen. */
  lookup(contentSessionId: string): Promise<number | null>;
  /** The live session, or null once it is disposed (or never was). */
  get(sessionDbId: number): Promise<SessionView | null>;
  /** The live machine's state value and full context (history included). */
  state(sessionDbId: number): Promise<MachineState | null>;
  /** Its events and, once disposed, why it went: kept for the retention period. */
  timeline(sessionDbId: number): Promise<TimelineView>;
  slots(): Promise<SlotPoolView>;
}

const sessionApi: SessionObject = { name: 'session' };
const timelineApi: TimelineObject = { name: 'sessionTimeline' };
const directoryApi: SessionDirectory = { name: 'sessionDirectory' };
const slotsApi: SlotPoolObject = { name: 'agentSlots' };

/** Talks to the session engine through a Restate ingress (any node of the cluster). */
export function connectSessionCluster(options: {
  readonly ingressUrl: string;
  readonly headers?: Record<string, string>;
}): SessionClusterClient {
  const ingress = clients.connect({ url: options.ingressUrl, ...(options.headers ? { headers: options.headers } : {}) });
  const session = (sessionDbId: number) => ingress.objectClient(sessionApi, String(sessionDbId));

  /** The id and, for a content session, who it is (so the session object can create it). */
  async function resolve(target: ClusterTarget, create: boolean): Promise<{ sessionDbId: number; identity?: SessionIdentity } | null> {
    if ('sessionDbId' in target) return { sessionDbId: target.sessionDbId };
    const directory = ingress.objectClient(directoryApi, target.contentSessionId);
    const sessionDbId = create ? (await directory.open()).sessionDbId : await directory.lookup();
    if (sessionDbId === null) return null;
    return { sessionDbId, identity: { sessionDbId, contentSessionId: target.contentSessionId, project: target.project ?? '' } };
  }

  async function command(target: ClusterTarget, name: 'touch' | 'complete' | 'delete'): Promise<ClusterResult<object>> {
    const resolved = await resolve(target, false);
    if (resolved === null) return { ok: false, error: 'not-found' };
    const result = await session(resolved.sessionDbId)[name]();
    return result.ok ? { ok: true, sessionDbId: resolved.sessionDbId } : result;
  }

  return {
    async init(target, request) {
      const resolved = (await resolve(target, true))!;
      const result = await session(resolved.sessionDbId).init({
        ...request,
        ...(resolved.identity ? { identity: resolved.identity } : {}),
      });
      return result.ok ? { ...result, sessionDbId: resolved.sessionDbId } : result;
    },
    async enqueue(target, work) {
      const resolved = (await resolve(target, true))!;
      const result = await session(resolved.sessionDbId).enqueue({
        ...work,
        ...(resolved.identity ? { identity: resolved.identity } : {}),
      });
      return result.ok ? { ok: true, status: result.status, queueLength: result.queueLength, sessionDbId: resolved.sessionDbId } : result;
    },
    touch: (target) => command(target, 'touch'),
    complete: (target) => command(target, 'complete'),
    delete: (target) => command(target, 'delete'),
    lookup: async (contentSessionId) => ingress.objectClient(directoryApi, contentSessionId).lookup(),
    get: async (sessionDbId) => session(sessionDbId).get(),
    state: async (sessionDbId) => session(sessionDbId).state(),
    timeline: async (sessionDbId) => ingress.objectClient(timelineApi, String(sessionDbId)).get(),
    slots: async () => ingress.objectClient(slotsApi, SLOT_POOL_KEY).stats(),
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
