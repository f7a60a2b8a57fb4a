import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SessionEngine } from '../engine/index.js';
import { readV8Heap } from '../registry/index.js';
import { type Asset, defaultAssetsDir, loadAssets } from './assets.js';
import { registerMemoryViews } from './memories.js';
import type { WorkerFacts } from './protocol.js';
import { DisposalRecorder, MemoryRecorder } from './recorder.js';
import { DashboardStreams, DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream.js';
import { sessionDetail } from './views.js';

export interface DashboardOptions {
  /** Whatever runs the sessions; the dashboard reads it only through the engine interface. */
  readonly engine: SessionEngine;
  /** Required: the worker's version, shown in the page's header. */
  readonly version: string;
  /**
   * Required, as the engine runs them (the worker passes its configuration's): the page counts each
   * session's time to `expiring` and `disposed` from them, and draws the capacity and the slots.
   */
  readonly idleTtlMs: number;
  readonly graceMs: number;
  readonly maxActiveSessions: number;
  readonly maxConcurrentAgents: number;
  /** Required, CLAUDE_MEM_MEMORY_LIMIT_PERCENT: drawn as the line above which idle sessions are shed (engines with `memoryPressure`). */
  readonly memoryLimitPercent: number;
  /** Where the built page is; default `dist/web` in this package. */
  readonly assetsDir?: string;
  /**
   * Heap and RSS are sampled this often (default 5 s, as the registry reads its heap) and kept for
   * `memoryWindowMs` (default 1 h: the chart shows a growth that a minute hides; 720 samples).
   */
  readonly memorySampleMs?: number;
  readonly memoryWindowMs?: number;
  /** Disposals are counted per bucket of this length (default 1 min: 60 bars an hour), for the last `memoryWindowMs`. */
  readonly disposalBucketMs?: number;
  /** The live stream's bounds, over DEFAULT_STREAM_LIMITS (each says its default and why). */
  readonly streamLimits?: Partial<StreamLimits>;
  /** Where time is read. Default `Date.now`; tests give their own. */
  readonly now?: () => number;
}

/**
 * Routes that answer without the worker's token: the page and its files, which hold no session data.
 * (Host and Origin are checked on them like on every route.) The worker adds them to its public paths.
 */
export const DASHBOARD_PUBLIC_PATHS: readonly string[] = ['/', '/dashboard', '/dashboard/assets/:file'];

/** The page runs only its own script and talks only to this worker. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const SESSION_DB_ID = /^[1-9]\d{0,14}$/;

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  reply.headers({
    ...PAGE_HEADERS,
    'content-type': asset.contentType,
    'cache-control': asset.cacheControl,
    etag: asset.etag,
    vary: 'accept-encoding',
  });
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  if (asset.gzip !== undefined && acceptsGzip) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

/**
 * The dashboard (issue 10): the page at `/` and `/dashboard`, its files, its event stream and the
 * session page's data. A fastify plugin; the worker registers it next to its API, behind the same
 * Host, Origin and token checks. It reads the sessions only through the engine interface, so it shows
 * the embedded registry and a Restate cluster alike (docs/dashboard.md says what differs).
 */
export async function dashboardPlugin(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const assets = loadAssets(options.assetsDir ?? defaultAssetsDir());
  if (!assets.ok) app.log.warn({ reason: assets.reason }, 'dashboard unavailable');

  const memorySampleMs = options.memorySampleMs ?? 5_000;
  const windowMs = options.memoryWindowMs ?? 60 * 60_000;
  const disposalBucketMs = options.disposalBucketMs ?? 60_000;
  const heapLimitBytes = readV8Heap().limitBytes;
  const { engine } = options;
  const facts: WorkerFacts = {
    engine: {
      kind: engine.description.kind,
      location: engine.description.location,
      ownership: engine.description.ownership,
      capacity: engine.capabilities.capacity,
      updates: engine.notifications.processed === 'live' ? 'live' : 'polled',
      pollMs: engine.notifications.pollMs,
    },
    version: options.version,
    pid: process.pid,
    startedAt: now(),
    idleTtlMs: options.idleTtlMs,
    graceMs: options.graceMs,
    maxActiveSessions: options.maxActiveSessions,
    maxConcurrentAgents: options.maxConcurrentAgents,
    // Only an engine that holds its sessions in this process sheds them under memory pressure.
    memoryLimitBytes: engine.capabilities.memoryPressure ? Math.round((heapLimitBytes * options.memoryLimitPercent) / 100) : null,
    heapLimitBytes,
    memorySampleMs,
    disposalBucketMs,
    windowMs,
  };
  const disposals = new DisposalRecorder({ bucketMs: disposalBucketMs, buckets: Math.ceil(windowMs / disposalBucketMs), recent: 100 });
  const memory = new MemoryRecorder({
    intervalMs: memorySampleMs,
    capacity: Math.ceil(windowMs / memorySampleMs),
    now,
    onSample: (sample) => streams.memorySampled(sample),
  });
  const streams = new DashboardStreams({ engine, memory, disposals, facts, now }, { ...DEFAULT_STREAM_LIMITS, ...options.streamLimits });
  memory.start();
  const stopRecordingDisposals = engine.on('disposed', (disposed) => {
    const bucket = disposals.record(disposed);
    streams.disposed(bucket, disposals.recent.last()!);
  });

  // Streams never end on their own: end them before the server waits for open requests.
  app.addHook('preClose', async () => streams.close());
  app.addHook('onClose', async () => {
    memory.stop();
    stopRecordingDisposals();
  });

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!assets.ok) throw new DashboardError(503, 'dashboard not built', assets.reason);
    return sendAsset(request, reply, assets.index);
  };
  const pageSchema = { schema: { summary: "The dashboard's page", tags: TAGS, response: { 200: html } } };
  app.get('/', pageSchema, page);
  app.get('/dashboard', pageSchema, page);

  app.get(
    '/dashboard/assets/:file',
    {
      schema: {
        summary: "The dashboard's scripts, styles and statechart (content-hashed names, cached for a year)",
        tags: TAGS,
        params: z.object({ file: z.string() }),
        response: { 200: { description: 'The file (JavaScript, CSS or SVG).', content: { '*/*': { schema: z.string() } } } },
      },
    },
    async (request, reply) => {
      const { file } = request.params as { file: string };
      const asset = assets.ok ? assets.files.get(file) : undefined;
      if (asset === undefined) throw new DashboardError(404, 'not found', `no dashboard file ${JSON.stringify(file)}`);
      return sendAsset(request, reply, asset);
    },
  );

  app.get(
    '/dashboard/api/stream',
    {
      schema: {
        summary: "The dashboard's Server-Sent Events: a snapshot, then coalesced updates (types in src/dashboard/protocol.ts)",
        tags: TAGS,
        response: {
          200: {
            description: '`snapshot` and `update` messages, each a JSON `data:` line.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
        },
      },
    },
    async (_request, reply) => {
      reply.hijack();
      if (!streams.open(reply.raw)) {
        // Hijacked, so answered here, in the worker's error shape.
        const body = JSON.stringify({
          error: 'too many dashboard streams',
          details: [{ problem: `at most ${streams.status().maxStreams} dashboards may be open at once; close one and retry` }],
        });
        reply.raw.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '5' });
        reply.raw.end(body);
      }
    },
  );

  app.get(
    '/dashboard/api/status',
    {
      schema: {
        summary: "The dashboard's own streams: how many, their buffers, what was coalesced or refused, the work they cost",
        tags: TAGS,
        response: {
          200: z
            .object({ streams: z.number(), maxStreams: z.number(), maxBufferedBytes: z.number(), workMs: z.number() })
            .describe('StreamStatus (src/dashboard/protocol.ts).'),
        },
      },
    },
    async () => streams.status(),
  );

  registerMemoryViews(app, engine);

  app.get(
    '/dashboard/api/sessions/:sessionDbId',
    {
      schema: {
        summary: "A session's page: its state, deadlines, bounded history, timeline and how it ended",
        tags: TAGS,
        params: z.object({ sessionDbId: z.string().describe('A positive integer.') }),
        response: {
          200: z
            .object({ sessionDbId: z.number().int(), contentSessionId: z.string(), project: z.string() })
            .describe('SessionDetail (src/dashboard/protocol.ts).'),
        },
      },
    },
    async (request, reply) => {
      const { sessionDbId } = request.params as { sessionDbId: string };
      if (!SESSION_DB_ID.test(sessionDbId)) {
        throw new DashboardError(
          400,
          'invalid sessionDbId',
          `expected a positive integer, got ${JSON.stringify(sessionDbId)}`,
          'sessionDbId',
        );
      }
      const inspection = await engine.inspect(Number(sessionDbId));
      if (inspection === undefined) throw new DashboardError(404, 'session not found', `no session ${sessionDbId} in the log`);
      return reply.header('cache-control', 'no-store').send(sessionDetail(inspection, options.idleTtlMs, now(), engine));
    },
  );
}

const TAGS = ['dashboard'];
const html = { description: 'The page (HTML).', content: { 'text/html': { schema: z.string() } } };

/** A failure of a dashboard route: the worker's error handler answers it in its one shape (`{error, details}`). */
class DashboardError extends Error {
  readonly details: readonly { readonly field?: string; readonly problem: string }[];
  constructor(
    readonly statusCode: number,
    message: string,
    problem: string,
    field?: string,
  ) {
    super(message);
    this.details = [{ ...(field === undefined ? {} : { field }), problem }];
  }
}
