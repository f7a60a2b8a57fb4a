import { getHeapStatistics } from 'node:v8';
import { type Clock, unrefTimer } from '../clock/index.js';

export interface HeapUsage {
  readonly usedBytes: number;
  readonly limitBytes: number;
}

export type HeapReader = () => HeapUsage;

/** V8's used heap against the heap limit (`--max-old-space-size`), which is what an OOM crash is about. */
export const readV8Heap: HeapReader = () => {
  const heap = getHeapStatistics();
  return { usedBytes: heap.used_heap_size, limitBytes: heap.heap_size_limit };
};

export interface MemoryPressureOptions {
  /**
   * Shedding starts above this share of the heap limit. Default 80 (CLAUDE_MEM_MEMORY_LIMIT_PERCENT):
   * far enough below the limit that V8's last-resort collections and the crash never come.
   */
  readonly limitPercent?: number;
  /** Shedding aims for this share (below `limitPercent`). Default 75: a margin, so that one shed is not followed by another at once. */
  readonly targetPercent?: number;
  /** How often the heap is read. Default 5 s: a cheap read, often enough to act long before the heap fills. */
  readonly intervalMs?: number;
  /** How the heap is read. Default V8's own statistics (`readV8Heap`); tests give their own. */
  readonly read?: HeapReader;
}

/**
 * How many sessions to shed so that usage falls to the target, assuming memory is spread evenly over
 * them (Orleans' activation shedding: count − ⌊count × target / usage⌋). Zero at or below the limit.
 */
export function surplusSessions(count: number, usage: number, limitPercent: number, targetPercent: number): number {
  if (count === 0 || usage * 100 <= limitPercent) return 0;
  return Math.max(0, count - Math.floor((count * (targetPercent / 100)) / usage));
}

/** Polls heap usage and calls `shed` with Orleans' surplus whenever usage is over the limit. */
export function startMemoryMonitor(options: {
  clock: Clock;
  intervalMs: number;
  limitPercent: number;
  targetPercent: number;
  read: HeapReader;
  liveSessions: () => number;
  shed: (surplus: number, usage: number) => void;
}): { stop(): void; check(): void } {
  let handle: unknown;
  let stopped = false;
  const check = () => {
    const heap = options.read();
    const usage = heap.limitBytes > 0 ? heap.usedBytes / heap.limitBytes : 0;
    const surplus = surplusSessions(options.liveSessions(), usage, options.limitPercent, options.targetPercent);
    if (surplus > 0) options.shed(surplus, usage);
  };
  const tick = () => {
    if (stopped) return;
    check();
    arm();
  };
  const arm = () => {
    handle = options.clock.setTimeout(tick, options.intervalMs);
    unrefTimer(handle);
  };
  arm();
  return {
    check,
    stop() {
      stopped = true;
      options.clock.clearTimeout(handle);
    },
  };
}
