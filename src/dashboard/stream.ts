import type { ServerResponse } from 'node:http';
import type { SessionEngine } from '../engine/index.js';
import type {
  DisposalBucket,
  DisposalRecord,
  MemorySample,
  SnapshotMessage,
  StreamStatus,
  UpdateMessage,
  WorkerFacts,
} from './protocol.js';
import type { DisposalRecorder, MemoryRecorder } from './recorder.js';
import { changedRows, sessionRow, statsSummary } from './views.js';

export interface StreamLimits {
  /** Changes are gathered for this long, then sent as one message. Default 500 ms: a busy worker's changes arrive as two messages a second, which a person reads as live. */
  readonly coalesceMs: number;
  /** Open streams at most (one per browser tab); more are refused with 503. Default 16: a few people's tabs, and each stream costs its buffer. */
  readonly maxStreams: number;
  /**
   * A stream whose unsent bytes exceed this gets no further updates until it drains, then one snapshot.
   * Default 256 KiB: a snapshot of hundreds of sessions, so that a slow tab costs at most that much memory.
   */
  readonly maxBufferedBytes: number;
  /** A stream that has not drained for this long is closed. Default 30 s: a tab in the background drains within that; a dead one never does. */
  readonly stallTimeoutMs: number;
  /** A comment line this often, so a vanished client is noticed by a failed write. Default 15 s: below the idle timeouts of common proxies (30–60 s). */
  readonly heartbeatMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  coalesceMs: 500,
  maxStreams: 16,
  maxBufferedBytes: 256 * 1024,
  stallTimeoutMs: 30_000,
  heartbeatMs: 15_000,
};

interface Client {
  readonly response: ServerResponse;
  /** Its first snapshot is being read from the engine: no update goes before it. */
  opening: boolean;
  /** Behind: it missed a message and gets a snapshot once its buffer drains. */
  stale: boolean;
  stalledSince: number;
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The dashboard's Server-Sent Events: one stream per browser tab, fed from one set of engine
 * listeners, whatever the number of tabs. Changes are coalesced (the sessions that changed in the last
 * `coalesceMs`, not every event), serialised once and written to every client. A client that stops
 * reading costs at most `maxBufferedBytes` plus one message: past that it is skipped (and later sent
 * one fresh snapshot instead of everything it missed), and closed if it does not catch up in
 * `stallTimeoutMs`. With no client connected the dashboard does nothing per event.
 *
 * An engine that does not announce each processed event (Restate: the sessions live in the cluster,
 * not in this process) is polled instead: while a client is connected, every `pollMs` the whole list
 * is read and sent as one update (rows that changed or appeared, ids that went away).
 */
export class DashboardStreams {
  readonly #clients = new Set<Client>();
  readonly #dirty = new Set<number>();
  #pendingMemory: MemorySample[] = [];
  readonly #pendingBuckets = new Map<number, DisposalBucket>();
  #pendingDisposals: DisposalRecord[] = [];
  #unsubscribe: (() => void) | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #lastWrite = 0;
  #closedSlow = 0;
  #coalesced = 0;
  #refused = 0;
  #workMs = 0;
  #flushing = false;
  /** Polling engines: the ids the last full reading had, so the next one can say which went away. */
  #known = new Set<number>();
  #pollDue = false;

  constructor(
    private readonly sources: {
      readonly engine: SessionEngine;
      readonly memory: MemoryRecorder;
      readonly disposals: DisposalRecorder;
      readonly facts: WorkerFacts;
      readonly now: () => number;
    },
    private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {}

  /** Takes over the response as an event stream; false (and nothing written) when the stream limit is reached. */
  open(response: ServerResponse): boolean {
    if (this.#clients.size >= this.limits.maxStreams) {
      this.#refused++;
      return false;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Reverse proxies must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    const client: Client = { response, opening: true, stale: false, stalledSince: 0 };
    if (this.#clients.size === 0) this.#subscribe();
    this.#clients.add(client);
    response.on('close', () => this.#remove(client));
    response.on('drain', () => {
      if (client.stale && !client.opening && this.#clients.has(client)) {
        client.stale = false;
        this.#sendSnapshot(client);
      }
    });
    this.#sendSnapshot(client);
    return true;
  }

  /** Everything the page needs to draw itself from scratch. */
  async snapshot(): Promise<SnapshotMessage> {
    const { engine, facts, memory, disposals } = this.sources;
    const [views, stats] = await Promise.all([engine.list(), engine.stats()]);
    return {
      type: 'snapshot',
      now: this.sources.now(),
      worker: facts,
      sessions: views.map((view) => sessionRow(view, facts.idleTtlMs)),
      stats: statsSummary(stats),
      memory: memory.samples.toArray(),
      disposals: disposals.buckets(),
      recentDisposals: disposals.recent.toArray(),
    };
  }

  /** Reads a snapshot and writes it to `client` if it is still connected; an engine that fails to answer closes the stream (the page reconnects). */
  #sendSnapshot(client: Client): void {
    client.opening = true;
    this.snapshot().then(
      (message) => {
        client.opening = false;
        if (!this.#clients.has(client)) return;
        const started = performance.now();
        client.response.write(frame('snapshot', message));
        this.#workMs += performance.now() - started;
      },
      () => {
        this.#clients.delete(client);
        client.response.destroy();
        if (this.#clients.size === 0) this.#idle();
      },
    );
  }

  status(): StreamStatus {
    return {
      streams: this.#clients.size,
      maxStreams: this.limits.maxStreams,
      maxBufferedBytes: this.limits.maxBufferedBytes,
      bufferedBytes: [...this.#clients].map((client) => client.response.writableLength),
      closedSlow: this.#closedSlow,
      coalesced: this.#coalesced,
      refused: this.#refused,
      workMs: Math.round(this.#workMs * 1000) / 1000,
    };
  }

  memorySampled(sample: MemorySample): void {
    if (this.#clients.size === 0) return;
    this.#pendingMemory.push(sample);
    this.#schedule();
  }

  disposed(bucket: DisposalBucket, record: DisposalRecord): void {
    if (this.#clients.size === 0) return;
    this.#pendingBuckets.set(bucket.start, bucket);
    this.#pendingDisposals.push(record);
    this.#dirty.add(record.sessionDbId);
    this.#schedule();
  }

  /** Ends every stream (the worker is stopping). */
  close(): void {
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
    this.#idle();
  }

  #subscribe(): void {
    const { engine } = this.sources;
    if (engine.notifications.processed === 'live') {
      this.#unsubscribe = engine.on('processed', ({ sessionDbId }) => {
        this.#dirty.add(sessionDbId);
        this.#schedule();
      });
    } else {
      const poll = setInterval(() => {
        this.#pollDue = true;
        this.#schedule();
      }, engine.notifications.pollMs ?? 2_000);
      poll.unref();
      this.#unsubscribe = () => clearInterval(poll);
    }
    this.#lastWrite = this.sources.now();
    const tick = Math.max(100, Math.min(1_000, this.limits.stallTimeoutMs / 2, this.limits.heartbeatMs));
    this.#watchdog = setInterval(() => this.#watch(), tick);
    this.#watchdog.unref();
  }

  #remove(client: Client): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#idle();
  }

  /** Nobody watches: no listener, no timer, nothing pending. */
  #idle(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    clearTimeout(this.#flushTimer);
    clearInterval(this.#watchdog);
    this.#flushTimer = undefined;
    this.#watchdog = undefined;
    this.#dirty.clear();
    this.#known.clear();
    this.#pollDue = false;
    this.#pendingMemory = [];
    this.#pendingBuckets.clear();
    this.#pendingDisposals = [];
  }

  #schedule(): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => this.#flush(), this.limits.coalesceMs);
    this.#flushTimer.unref();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#clients.size === 0) return;
    if (this.#flushing) {
      // The engine is still answering the previous reading: this one goes after it.
      this.#schedule();
      return;
    }
    this.#flushing = true;
    this.#update().then(
      (message) => {
        this.#flushing = false;
        if (message === undefined || this.#clients.size === 0) return;
        const started = performance.now();
        this.#broadcast(frame('update', message));
        this.#workMs += performance.now() - started;
      },
      () => {
        // The engine did not answer (Restate unreachable): the changes wait for the next reading.
        this.#flushing = false;
      },
    );
  }

  /** The rows that changed (or, for a polled engine, the whole list) and what else is pending. */
  async #update(): Promise<UpdateMessage | undefined> {
    const { engine, facts } = this.sources;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    const poll = this.#pollDue;
    this.#pollDue = false;
    const { upserts, removed, seen } = await changedRows(engine, facts.idleTtlMs, dirty, poll ? this.#known : undefined);
    if (seen !== undefined) this.#known = seen;
    const stats = await engine.stats();
    const message: UpdateMessage = {
      type: 'update',
      now: this.sources.now(),
      upserts,
      removed,
      stats: statsSummary(stats),
      memory: this.#pendingMemory,
      disposals: [...this.#pendingBuckets.values()],
      recentDisposals: this.#pendingDisposals,
    };
    this.#pendingMemory = [];
    this.#pendingBuckets.clear();
    this.#pendingDisposals = [];
    return message;
  }

  #broadcast(chunk: string): void {
    this.#lastWrite = this.sources.now();
    for (const client of this.#clients) {
      if (client.opening) continue; // its snapshot, being read, will include this
      if (client.stale) {
        this.#coalesced++;
        continue;
      }
      if (client.response.writableLength > this.limits.maxBufferedBytes) {
        // Behind: stop queueing for it. The drain handler sends one snapshot when it has caught up.
        client.stale = true;
        client.stalledSince = this.sources.now();
        this.#coalesced++;
        continue;
      }
      client.response.write(chunk);
    }
  }

  /** Heartbeats, and closing the streams of clients that stopped reading. */
  #watch(): void {
    const now = this.sources.now();
    for (const client of this.#clients) {
      if (client.stale && now - client.stalledSince >= this.limits.stallTimeoutMs) {
        this.#closedSlow++;
        this.#clients.delete(client);
        client.response.destroy();
      }
    }
    if (this.#clients.size === 0) {
      this.#idle();
      return;
    }
    if (now - this.#lastWrite >= this.limits.heartbeatMs) this.#broadcast(': keep-alive\n\n');
  }
}
