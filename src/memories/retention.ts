/**
 * Owns the retention of memories (CLAUDE_MEM_MEMORY_RETENTION_DAYS): once now and then once an hour,
 * memories older than the retention are deleted. With no retention nothing is ever deleted but by the
 * user.
 * May not: delete anything else (the log's own retention is the journal's).
 */
import type { MemoryCounts, MemoryStore } from './types.js';

export interface RetentionOptions {
  /** Memories older than this go; 0 or less: none ever do. */
  readonly retentionMs: number;
  /** How often; default one hour. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  readonly forgot?: (counts: MemoryCounts) => void;
  readonly failed?: (error: unknown) => void;
}

/** Starts the sweeps; returns what stops them. */
export function keepMemoriesFor(store: MemoryStore, options: RetentionOptions): () => void {
  if (options.retentionMs <= 0) return () => {};
  const now = options.now ?? Date.now;
  let stopped = false;
  const sweep = () => {
    if (stopped) return;
    store.forgetBefore(now() - options.retentionMs).then(
      (counts) => {
        if (counts.observations + counts.summaries > 0) options.forgot?.(counts);
      },
      (error: unknown) => options.failed?.(error),
    );
  };
  sweep();
  const timer = setInterval(sweep, options.intervalMs ?? 3_600_000);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
