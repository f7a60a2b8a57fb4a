/**
 * Owns the session services as a deployment: their options (the engine's session options, resolved by
 * the same rule as the embedded registry's, plus what only the cluster keeps), their HTTP/2 endpoint,
 * and their registration with Restate's admin API.
 * May not: call the services (the engine does, through the ingress).
 */
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as restate from '@restatedev/restate-sdk';
import { z } from 'zod';
import type { Agent } from '../agents/index.js';
import type { WorkerConfig } from '../config/index.js';
import { count, parseOptions, resolveSessionOptions, type SessionOptions, sessionOptionsFromConfig } from '../engine/index.js';
import type { MemoryStore } from '../memories/index.js';
import { createAgentService } from './agent-service.js';
import { sessionDirectory, sessionIds } from './directory.js';
import { createMemoryService } from './memory-service.js';
import { sessionIndex } from './session-index.js';
import { createSessionObject } from './session-object.js';
import { slotPool } from './slots.js';
import { createTimelineObject } from './timeline.js';

export interface SessionServiceOptions extends SessionOptions {
  /**
   * Timeline entries kept per session (the events route and the dashboard's session page read them).
   * Default 1,000: a long session's last hours; the oldest go first, in whole batches.
   */
  readonly timelineEntries?: number;
  /**
   * Where the replies' memories are stored (the cluster's PostgreSQL store, shared by every service
   * process and worker), once each, by the `sessionMemories` service. Default none: nothing is stored.
   * Not closed by the services: its owner closes it after them.
   */
  readonly memories?: MemoryStore;
}

const WHO = 'session service';
/** The services' own defaults; the docs above say why each. */
const CLUSTER_DEFAULTS = { timelineEntries: 1_000 };
const clusterNumbers = z.object({ timelineEntries: count });

/** The Restate services of the session engine, to bind into an endpoint of your own or to `startSessionService`. */
export function createSessionServices(options: SessionServiceOptions) {
  const resolved = resolveSessionOptions(options, WHO);
  const { timelineEntries } = parseOptions(clusterNumbers, CLUSTER_DEFAULTS, options, WHO);
  return [
    createSessionObject({ ...resolved, memories: options.memories !== undefined }),
    createAgentService({ agent: resolved.agent, estimateTokens: resolved.estimateTokens }),
    // Registered by every process, with a store or not, so that every deployment offers the same services.
    createMemoryService(options.memories),
    slotPool,
    createTimelineObject({ maxEntries: timelineEntries }),
    sessionDirectory,
    sessionIds,
    sessionIndex,
  ];
}

/** The session services' options from the worker's configuration (settings.json and CLAUDE_MEM_*). */
export function serviceOptionsFromConfig(config: WorkerConfig, agent: Agent, memories?: MemoryStore): SessionServiceOptions {
  return { agent, ...(memories === undefined ? {} : { memories }), ...sessionOptionsFromConfig(config) };
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

export interface RunningSessionService {
  readonly port: number;
  /** What to register with Restate's admin API. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the session services over HTTP/2 (what Restate speaks to its deployments), on loopback by default. */
export async function startSessionService(
  options: SessionServiceOptions & { readonly port?: number; readonly host?: string; readonly logger?: restate.LoggerTransport },
): Promise<RunningSessionService> {
  const services = createSessionServices(options);
  const host = options.host ?? '127.0.0.1';
  const logger: restate.LoggerTransport =
    options.logger ??
    ((meta, message, ...rest) => {
      // Restate logs every invocation's start and end at info; only trouble is worth a line here.
      if (!meta.replaying && (meta.level === 'warn' || meta.level === 'error')) console.error(`[restate ${meta.level}]`, message, ...rest);
    });
  const server: Http2Server = createServer(restate.createEndpointHandler({ services, logger }));
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Restate keeps its HTTP/2 connections open; close() alone would wait for them forever.
        for (const session of sessions) session.destroy();
      }),
  };
}
