import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as restate from '@restatedev/restate-sdk';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../../machines/session.machine.js';
import type { Agent } from '../agents/index.js';
import type { WorkerConfig } from '../config/index.js';
import { estimateTokens as defaultEstimate, type TokenEstimator } from '../history/index.js';
import type { MemoryStore } from '../memories/index.js';
import { createAgentService } from './agent-service.js';
import { sessionDirectory, sessionIds } from './directory.js';
import { createMemoryService } from './memory-service.js';
import { sessionIndex } from './session-index.js';
import { createSessionObject } from './session-object.js';
import { slotPool } from './slots.js';
import { createTimelineObject } from './timeline.js';

export interface SessionServiceOptions extends Partial<SessionSettings> {
  /** Produces the replies; called inside `ctx.run`, at most `maxConcurrentAgents` at once across the cluster. */
  readonly agent: Agent;
  /** Agent calls in flight at once across every service process of the cluster. Default 2. */
  readonly maxConcurrentAgents?: number;
  /** Unprocessed items one session may hold. Default 1,000. */
  readonly maxQueuedItems?: number;
  readonly estimateTokens?: TokenEstimator;
  /** Timeline entries kept per session. Default 1,000. */
  readonly timelineEntries?: number;
  /** How long a disposed session's events and work keys are kept (its identity and reason stay). Default 24 h. */
  readonly retentionMs?: number;
  /**
   * Where the replies' memories are stored (the cluster's PostgreSQL store, shared by every service
   * process and worker), once each, by the `sessionMemories` service. Default none: nothing is stored.
   * Not closed by the services: its owner closes it after them.
   */
  readonly memories?: MemoryStore;
}

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`session service: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return value;
}

/** Settings for which 0 means something (no grace, no gathering) rather than nonsense. */
const ZERO_ALLOWED = new Set<keyof SessionSettings>(['graceMs', 'batchWindowMs', 'batchQuietMs']);

/** The Restate services of the session engine, to bind into an endpoint of your own or to `startSessionService`. */
export function createSessionServices(options: SessionServiceOptions) {
  if (typeof options?.agent?.run !== 'function') {
    throw new TypeError('session service: `agent` must be an object with a run(request, signal) method');
  }
  // As the embedded registry: a batch holds at most a quarter of the history's token bound, unless told otherwise.
  const historyTokens = options.maxHistoryTokens ?? DEFAULT_SESSION_SETTINGS.maxHistoryTokens;
  const settings: SessionSettings = { ...DEFAULT_SESSION_SETTINGS, maxBatchTokens: Math.max(1, Math.floor(historyTokens / 4)) };
  for (const key of Object.keys(DEFAULT_SESSION_SETTINGS) as (keyof SessionSettings)[]) {
    const value = options[key];
    if (typeof value === 'boolean') (settings as Record<keyof SessionSettings, unknown>)[key] = value;
    else if (value !== undefined)
      (settings as Record<keyof SessionSettings, unknown>)[key] = ZERO_ALLOWED.has(key) && value === 0 ? 0 : positive(key, value);
  }
  const estimateTokens = options.estimateTokens ?? defaultEstimate;
  const maxConcurrentAgents = positive('maxConcurrentAgents', options.maxConcurrentAgents ?? 2, true);
  const maxQueuedItems = positive('maxQueuedItems', options.maxQueuedItems ?? 1_000, true);
  const retentionMs = options.retentionMs === 0 ? 0 : positive('retentionMs', options.retentionMs ?? 24 * 3_600_000);
  return [
    createSessionObject({
      settings,
      maxConcurrentAgents,
      maxQueuedItems,
      estimateTokens,
      retentionMs,
      memories: options.memories !== undefined,
    }),
    createAgentService({ agent: options.agent, estimateTokens }),
    // Registered by every process, with a store or not, so that every deployment offers the same services.
    createMemoryService(options.memories),
    slotPool,
    createTimelineObject({ maxEntries: positive('timelineEntries', options.timelineEntries ?? 1_000, true) }),
    sessionDirectory,
    sessionIds,
    sessionIndex,
  ];
}

/** The session services' options from the worker's configuration (settings.json and CLAUDE_MEM_*). */
export function serviceOptionsFromConfig(config: WorkerConfig, agent: Agent, memories?: MemoryStore): SessionServiceOptions {
  return {
    agent,
    ...(memories === undefined ? {} : { memories }),
    idleTtlMs: config.sessionTtlMs,
    graceMs: config.graceMs,
    maxHistoryMessages: config.maxConversationHistory,
    maxHistoryTokens: config.maxConversationTokens,
    historyLowWater: config.historyLowWater,
    agentTimeoutMs: config.agentTimeoutMs,
    maxConcurrentAgents: config.maxConcurrentAgents,
    maxQueuedItems: config.maxQueuedItems,
    maxBatchItems: config.maxBatchItems,
    batchWindowMs: config.batchWindowMs,
    batchQuietMs: config.batchQuietMs,
    digestAnsweredObservations: config.digestAnsweredObservations,
    retentionMs: config.eventRetentionMs,
  };
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
