import { memoryUsage } from 'node:process';
import type { SessionDisposed } from '../engine/index.js';
import { type HeapReader, readV8Heap } from '../registry/index.js';
import { DISPOSAL_REASONS, type DisposalBucket, type DisposalReasonName, type DisposalRecord, type MemorySample } from './protocol.js';

/** A fixed-capacity buffer that forgets its oldest entry: what the dashboard remembers can never grow. */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.#items = new Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#items[(this.#start + this.#size) % this.capacity] = item;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** The newest entry, if any. */
  last(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#start + this.#size - 1) % this.capacity];
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(this.#start + i) % this.capacity]!);
    return out;
  }
}

export interface MemoryRecorderOptions {
  readonly intervalMs: number;
  /** How many samples are kept (the last hour at 5 s: 720). */
  readonly capacity: number;
  readonly now: () => number;
  readonly readHeap?: HeapReader;
  readonly readRss?: () => number;
  readonly onSample?: (sample: MemorySample) => void;
}

/** Heap and RSS every `intervalMs`, in a ring buffer; the timer never keeps the process alive. */
export class MemoryRecorder {
  readonly samples: Ring<MemorySample>;
  #timer: NodeJS.Timeout | undefined;
  readonly #options: MemoryRecorderOptions;

  constructor(options: MemoryRecorderOptions) {
    this.#options = options;
    this.samples = new Ring(options.capacity);
  }

  /** Takes a sample now and then every `intervalMs`. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.#options.intervalMs);
    this.#timer.unref();
  }

  sample(): MemorySample {
    const sample = {
      at: this.#options.now(),
      heapUsedBytes: (this.#options.readHeap ?? readV8Heap)().usedBytes,
      rssBytes: (this.#options.readRss ?? memoryUsage.rss)(),
    };
    this.samples.push(sample);
    this.#options.onSample?.(sample);
    return sample;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

const zeroCounts = (): Record<DisposalReasonName, number> => Object.fromEntries(DISPOSAL_REASONS.map((r) => [r, 0])) as never;

/** Disposals by reason per time bucket (the last `buckets` of them), and the most recent disposals themselves. */
export class DisposalRecorder {
  readonly #bucketMs: number;
  readonly #buckets: Ring<{ start: number; counts: Record<DisposalReasonName, number> }>;
  readonly recent: Ring<DisposalRecord>;

  constructor(options: { bucketMs: number; buckets: number; recent: number }) {
    this.#bucketMs = options.bucketMs;
    this.#buckets = new Ring(options.buckets);
    this.recent = new Ring(options.recent);
  }

  get bucketMs(): number {
    return this.#bucketMs;
  }

  /** Records one disposal; returns the bucket it went into. */
  record(disposed: SessionDisposed): DisposalBucket {
    const start = Math.floor(disposed.at / this.#bucketMs) * this.#bucketMs;
    // A disposal stamped before the newest bucket (the clock stepped back) is counted in the newest.
    let bucket = this.#buckets.last();
    if (bucket === undefined || bucket.start < start) {
      bucket = { start, counts: zeroCounts() };
      this.#buckets.push(bucket);
    }
    bucket.counts[disposed.reason]++;
    this.recent.push({
      sessionDbId: disposed.sessionDbId,
      contentSessionId: disposed.contentSessionId,
      project: disposed.project,
      reason: disposed.reason,
      at: disposed.at,
      processed: disposed.counters.processed,
      droppedItems: disposed.droppedItems,
    });
    return { start: bucket.start, counts: { ...bucket.counts } };
  }

  buckets(): DisposalBucket[] {
    return this.#buckets.toArray().map((b) => ({ start: b.start, counts: { ...b.counts } }));
  }
}
