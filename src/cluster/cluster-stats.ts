/**
 * What the Restate engine reports of the cluster as a whole, from what it reads through the ingress:
 * the engine's stats summed from the live sessions' views, the slot pool and the index; and the
 * disposals, read from the index every `pollMs` while anyone listens (Restate announces nothing to a
 * front). Owns nothing of a session.
 * May not: call the ingress itself (it is given the reads).
 */
import { type SessionCounters, ZERO_COUNTERS } from '../../machines/session.machine.js';
import type { EngineStats, SessionDisposed } from '../engine/index.js';
import { addUsage, type SessionView, usageSum } from '../session/index.js';
import type { IndexSummary } from './session-index.js';
import type { SlotPoolView } from './slots.js';

/** Runs `work` on every item with at most `limit` at a time. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** The engine's stats: the live sessions' views summed, with what the index keeps of the disposed ones. */
export function clusterStats(views: readonly SessionView[], pool: SlotPoolView, index: IndexSummary): EngineStats {
  const byLifecycle = { active: 0, idle: 0, expiring: 0 };
  const byState: Record<string, number> = {};
  const totals = { ...ZERO_COUNTERS, ...index.disposedTotals } as Record<keyof SessionCounters, number>;
  const usageByProvider = usageSum();
  addUsage(usageByProvider, index.disposedUsage);
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
    slots: { capacity: pool.capacity, inUse: pool.inUse, waiting: pool.waiting, granted: pool.granted },
    disposals: index.disposals,
    totals,
    usageByProvider,
    dormant: null,
    frozen: null,
  };
}

/**
 * Disposals for `disposed` listeners: the index's newest ones read every `pollMs` while anyone listens,
 * each announced once (those after the first reading). A reading that fails (Restate out of reach: its
 * health says so) is caught up by the next; the index keeps the newest 100.
 */
export class DisposalPoller {
  readonly #listeners = new Set<(disposed: SessionDisposed) => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastSeq: number | undefined;
  #stopped = false;

  constructor(
    private readonly read: () => Promise<IndexSummary>,
    private readonly pollMs: number,
  ) {}

  /** Listens until the returned function is called. */
  listen(listener: (disposed: SessionDisposed) => void): () => void {
    this.#listeners.add(listener);
    this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#pause();
    };
  }

  stop(): void {
    this.#stopped = true;
    this.#pause();
  }

  #start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    let busy = false;
    this.#timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.#poll()
        .catch(() => {})
        .finally(() => {
          busy = false;
        });
    }, this.pollMs);
    this.#timer.unref();
    this.#poll().catch(() => {});
  }

  #pause(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    const { recent } = await this.read();
    const newest = recent.at(-1)?.seq ?? 0;
    if (this.#lastSeq !== undefined) {
      for (const disposal of recent) {
        if (disposal.seq <= this.#lastSeq) continue;
        const { seq: _seq, ...disposed } = disposal;
        for (const listener of this.#listeners) listener(disposed);
      }
    }
    this.#lastSeq = Math.max(this.#lastSeq ?? 0, newest);
  }
}
