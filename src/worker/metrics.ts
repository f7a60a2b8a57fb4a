import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import { DISPOSAL_REASONS, type SessionCounters } from '../../machines/session.machine.js';
import { LIVE_STATES } from '../../machines/session.states.js';
import type { EngineStats, SessionEngine } from '../engine/index.js';

const PREFIX = 'session_lifecycle_';

export interface WorkerMetrics {
  readonly register: MetricsRegistry;
  /** Hook answers that queued nothing: skipped tools, repeated tool_use_ids. */
  countWork(outcome: 'skipped' | 'duplicate'): void;
  /** Starts timing one durable commit of the engine's log (the commit behind an answer); call what it returns when it is done. */
  commitTimer(): () => void;
  /** Starts reading the engine's figures and listening to its events (what it tells; see its `notifications`). */
  observe(engine: SessionEngine): void;
}

/**
 * Prometheus metrics of the worker (prom-client): sessions by state, disposals by reason, work items by
 * outcome, trimmed history, agent slot waits, log commit latency, tokens, and Node's own (heap among them).
 */
export function createMetrics(): WorkerMetrics {
  const register = new MetricsRegistry();
  collectDefaultMetrics({ register, prefix: PREFIX });
  const flushLatency = new Histogram({
    name: `${PREFIX}log_append_seconds`,
    help: 'Latency of the durable commit of the event log behind each acknowledgement',
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [register],
  });
  // Queued, processed and failed grow with the engine's totals; skipped and duplicate are counted by the routes.
  let totalsOf: (() => Promise<SessionCounters | undefined>) | undefined;
  const seenWork: Partial<Record<keyof SessionCounters, number>> = {};
  const work = new Counter({
    name: `${PREFIX}work_items_total`,
    help: 'Work items by outcome: queued, processed, failed (dropped after its attempts), skipped, duplicate',
    labelNames: ['outcome'],
    registers: [register],
    async collect() {
      if (totalsOf === undefined) return;
      const totals = await totalsOf();
      if (totals === undefined) return;
      for (const key of ['queued', 'processed', 'failed'] as const) {
        this.inc({ outcome: key }, Math.max(0, totals[key] - (seenWork[key] ?? 0)));
        seenWork[key] = totals[key];
      }
    },
  });
  for (const outcome of ['queued', 'processed', 'failed', 'skipped', 'duplicate']) work.inc({ outcome }, 0);

  return {
    register,
    countWork: (outcome) => work.inc({ outcome }),
    commitTimer: () => flushLatency.startTimer(),
    observe(engine) {
      const stats = oncePerScrape(() => engine.stats());
      totalsOf = async () => (await stats())?.totals;
      observeEngine(engine, stats, register);
    },
  };
}

/**
 * The engine's stats, read once per scrape: every metric's collect() asks for them, and each reading
 * walks all live sessions (on Restate, asks the cluster). The reading is shared until it has settled
 * and the scrape's turn of the event loop is over. An engine out of reach gives none: the scrape still
 * answers, with the metrics that need no reading (`log_writable` 0 among them).
 */
function oncePerScrape(read: () => Promise<EngineStats>): () => Promise<EngineStats | undefined> {
  let current: Promise<EngineStats | undefined> | undefined;
  return () => {
    if (current === undefined) {
      const reading = read().catch(() => undefined);
      current = reading;
      const forget = () =>
        setImmediate(() => {
          if (current === reading) current = undefined;
        });
      reading.then(forget, forget);
    }
    return current;
  };
}

function observeEngine(engine: SessionEngine, stats: () => Promise<EngineStats | undefined>, register: MetricsRegistry): void {
  new Gauge({
    name: `${PREFIX}sessions`,
    help: 'Live sessions by state',
    labelNames: ['state', 'lifecycle'],
    registers: [register],
    async collect() {
      const byState = (await stats())?.byState;
      if (byState === undefined) return;
      for (const { name, lifecycle } of LIVE_STATES) this.set({ state: name, lifecycle }, byState[name] ?? 0);
    },
  });

  const disposals = new Counter({
    name: `${PREFIX}disposals_total`,
    help: 'Sessions disposed, by reason',
    labelNames: ['reason'],
    registers: [register],
  });
  for (const reason of DISPOSAL_REASONS) disposals.inc({ reason }, 0);
  engine.on('disposed', ({ reason }) => disposals.inc({ reason }));

  // Totals the engine keeps (live and disposed sessions summed) become counters: each scrape adds the growth.
  const totalCounter = (name: string, help: string, parts: Record<string, keyof SessionCounters>, labelName?: string) => {
    const seen: Partial<Record<keyof SessionCounters, number>> = {};
    return new Counter({
      name: `${PREFIX}${name}`,
      help,
      labelNames: labelName ? [labelName] : [],
      registers: [register],
      async collect() {
        const totals = (await stats())?.totals;
        if (totals === undefined) return;
        for (const [label, key] of Object.entries(parts)) {
          const growth = Math.max(0, totals[key] - (seen[key] ?? 0));
          seen[key] = totals[key];
          if (labelName) this.inc({ [labelName]: label }, growth);
          else this.inc(growth);
        }
      },
    });
  };
  totalCounter('agent_retries_total', 'Agent attempts that failed and were retried', { retries: 'retries' });
  totalCounter('agent_pauses_total', 'Times a provider refused for auth or quota and the queue rested', { pauses: 'pauses' });
  totalCounter('history_trimmed_messages_total', 'Messages dropped from histories by the bound', { trimmed: 'trimmedMessages' });
  totalCounter('history_trimmed_tokens_total', 'Estimated tokens dropped from histories by the bound', { trimmed: 'trimmedTokens' });
  totalCounter(
    'agent_tokens_total',
    'Tokens the providers reported: input (uncached prompt), output, cache_read and cache_write (prompt-cache reads and writes)',
    { input: 'inputTokens', output: 'outputTokens', cache_read: 'cacheReadTokens', cache_write: 'cacheWriteTokens' },
    'direction',
  );

  // The same, per provider (with fallbacks, several answer), and the batches each answered.
  const seenUsage = new Map<string, number>();
  const usageGrowth = (key: string, total: number) => {
    const growth = Math.max(0, total - (seenUsage.get(key) ?? 0));
    seenUsage.set(key, total);
    return growth;
  };
  new Counter({
    name: `${PREFIX}provider_tokens_total`,
    help: 'Tokens each provider reported, by kind: input (uncached prompt), output, cache_read, cache_write',
    labelNames: ['provider', 'kind'],
    registers: [register],
    async collect() {
      const usage = (await stats())?.usageByProvider;
      if (usage === undefined) return;
      for (const [provider, sum] of Object.entries(usage)) {
        const kinds = {
          input: sum.inputTokens,
          output: sum.outputTokens,
          cache_read: sum.cacheReadTokens,
          cache_write: sum.cacheWriteTokens,
        };
        for (const [kind, total] of Object.entries(kinds)) this.inc({ provider, kind }, usageGrowth(`${provider}\0${kind}`, total));
      }
    },
  });
  new Counter({
    name: `${PREFIX}provider_batches_total`,
    help: 'Batches each provider answered',
    labelNames: ['provider'],
    registers: [register],
    async collect() {
      const usage = (await stats())?.usageByProvider;
      if (usage === undefined) return;
      for (const [provider, sum] of Object.entries(usage)) this.inc({ provider }, usageGrowth(`${provider}\0batches`, sum.batches));
    },
  });

  new Gauge({
    name: `${PREFIX}agent_slots`,
    help: 'Agent slots: capacity, in use, and sessions waiting for one',
    labelNames: ['kind'],
    registers: [register],
    async collect() {
      const slots = (await stats())?.slots;
      if (slots === undefined) return;
      this.set({ kind: 'capacity' }, slots.capacity);
      this.set({ kind: 'in_use' }, slots.inUse);
      this.set({ kind: 'waiting' }, slots.waiting);
    },
  });

  new Gauge({
    name: `${PREFIX}log_writable`,
    help: '1 while the event log can be written; 0 while commits fail (disk full, I/O error) and new work gets 507',
    registers: [register],
    async collect() {
      this.set((await engine.health()).writable ? 1 : 0);
    },
  });
  const failedWrites = new Counter({
    name: `${PREFIX}log_failed_writes_total`,
    help: 'Writes to the event log that failed (commits, and probes while it could not be written)',
    registers: [register],
    async collect() {
      const failed = (await engine.health()).failedWrites;
      this.inc(Math.max(0, failed - seenFailedWrites));
      seenFailedWrites = failed;
    },
  });
  let seenFailedWrites = 0;
  failedWrites.inc(0);

  const { memories } = engine;
  if (memories !== null) {
    new Gauge({
      name: `${PREFIX}memories`,
      help: 'Memories stored: observations and summaries (kept after their sessions), and the replies they came from',
      labelNames: ['kind'],
      registers: [register],
      async collect() {
        const counts = await memories.stats().catch(() => undefined);
        if (counts === undefined) return;
        this.set({ kind: 'observation' }, counts.observations);
        this.set({ kind: 'summary' }, counts.summaries);
        this.set({ kind: 'reply' }, counts.replies);
      },
    });
  }

  const slotWait = new Histogram({
    name: `${PREFIX}agent_slot_wait_seconds`,
    help: 'Time a session waited for an agent slot',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [register],
  });
  engine.on('slotGranted', ({ waitedMs }) => slotWait.observe(waitedMs / 1_000));
}
