/**
 * What a call to Anthropic's Messages API costs, as a pure model: prefix caching by the documented rules,
 * and Claude Haiku 4.5's published prices. The fake LLM of the cost benchmark (bench/lib/fake-anthropic.ts)
 * feeds it each request's blocks; it owns no I/O and no clock (the time of each request is given).
 *
 * The rules (Anthropic's prompt caching documentation):
 *   - a request is a sequence of blocks in the order tools → system → messages; a block that carries
 *     `cache_control` is a breakpoint, at most 4 per request;
 *   - a cache entry is the exact prefix up to and including a breakpoint block: a write happens only at a
 *     breakpoint, and only when that prefix holds at least the model's minimum cacheable length (4,096
 *     tokens for Haiku 4.5); a shorter prefix is processed and billed as plain input, without error;
 *   - a read: at each breakpoint, the longest prefix ending at that block or at one of the 20 blocks
 *     before it that is in the cache (same content, byte for byte, from the start) is read from it;
 *     anything further back is not looked for;
 *   - an entry lives for its TTL (5 minutes by default, or 1 hour) from its last use: a read refreshes it;
 *   - usage: `cache_read_input_tokens` are the tokens of the prefix read, `cache_creation_input_tokens`
 *     those from there to the last breakpoint written, `input_tokens` the rest (after the last breakpoint,
 *     or everything when nothing could be cached).
 * Prices: input $1, cache write $1.25 (5 minutes, 1.25×) or $2 (1 hour, 2×), cache read $0.10 (0.1×),
 * output $5, per million tokens.
 */
import { createHash } from 'node:crypto';

/** One content block of a request, as the cache sees it. */
export interface CacheBlock {
  /** What makes two blocks the same: their role or place and their exact content. */
  readonly content: string;
  readonly tokens: number;
  /** A `cache_control` breakpoint on this block, with its TTL. */
  readonly breakpoint?: '5m' | '1h';
}

export interface CacheRules {
  /** The model's minimum cacheable prefix, in tokens. */
  readonly minimumTokens: number;
  /** How many blocks before a breakpoint are searched for a cached prefix (the breakpoint itself aside). */
  readonly lookbackBlocks: number;
  readonly maxBreakpoints: number;
}

export const HAIKU_4_5_CACHE_RULES: CacheRules = { minimumTokens: 4_096, lookbackBlocks: 20, maxBreakpoints: 4 };

const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

export interface CacheUsage {
  readonly inputTokens: number;
  readonly cacheCreationInputTokens: number;
  /** Of `cacheCreationInputTokens`, those written with a 1-hour TTL (billed at 2×). */
  readonly cacheCreation1hInputTokens: number;
  readonly cacheReadInputTokens: number;
}

/** Dollars per million tokens. */
export interface Prices {
  readonly model: string;
  readonly input: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
  readonly cacheRead: number;
  readonly output: number;
}

/** Claude Haiku 4.5, as Anthropic publishes its prices. */
export const HAIKU_4_5_PRICES: Prices = {
  model: 'claude-haiku-4-5',
  input: 1,
  cacheWrite5m: 1.25,
  cacheWrite1h: 2,
  cacheRead: 0.1,
  output: 5,
};

export function dollarsOf(usage: CacheUsage & { readonly outputTokens: number }, prices: Prices = HAIKU_4_5_PRICES): number {
  const write5m = usage.cacheCreationInputTokens - usage.cacheCreation1hInputTokens;
  return (
    (usage.inputTokens * prices.input +
      write5m * prices.cacheWrite5m +
      usage.cacheCreation1hInputTokens * prices.cacheWrite1h +
      usage.cacheReadInputTokens * prices.cacheRead +
      usage.outputTokens * prices.output) /
    1_000_000
  );
}

export class TooManyBreakpointsError extends Error {}

/** One organisation's prompt cache: entries by prefix, each with its expiry. */
export class PromptCache {
  readonly #rules: CacheRules;
  /** When each cached prefix expires, and the TTL a read renews it by. */
  readonly #entries = new Map<string, { expiresAt: number; ttl: '5m' | '1h' }>();

  constructor(rules: CacheRules = HAIKU_4_5_CACHE_RULES) {
    this.#rules = rules;
  }

  /** Entries alive at `now` (for tests and reports). */
  size(now: number): number {
    let alive = 0;
    for (const { expiresAt } of this.#entries.values()) if (expiresAt > now) alive++;
    return alive;
  }

  /** Charges one request made at `now` (ms): what it reads from the cache, writes to it, and pays as input. */
  charge(blocks: readonly CacheBlock[], now: number): CacheUsage {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
    const breakpoints = blocks.flatMap((block, index) => (block.breakpoint === undefined ? [] : [index]));
    if (breakpoints.length > this.#rules.maxBreakpoints) {
      throw new TooManyBreakpointsError(
        `A maximum of ${this.#rules.maxBreakpoints} blocks with cache_control may be provided. Found ${breakpoints.length}.`,
      );
    }
    // The prefix ending at each block: a chained hash of every block up to it, and its tokens.
    const prefixKeys: string[] = [];
    const prefixTokens: number[] = [];
    let chain = '';
    let tokens = 0;
    for (const block of blocks) {
      chain = createHash('sha256').update(chain).update('\u0000').update(block.content).digest('hex');
      tokens += block.tokens;
      prefixKeys.push(chain);
      prefixTokens.push(tokens);
    }
    const alive = (index: number) => (this.#entries.get(prefixKeys[index]!)?.expiresAt ?? 0) > now;

    // Read: the longest cached prefix found from any breakpoint, within its lookback.
    let readEnd = -1;
    for (const breakpoint of breakpoints) {
      for (let index = breakpoint; index >= Math.max(0, breakpoint - this.#rules.lookbackBlocks); index--) {
        if (alive(index)) {
          readEnd = Math.max(readEnd, index);
          break;
        }
      }
    }
    // A read refreshes the entry it used.
    if (readEnd >= 0) this.#refresh(prefixKeys[readEnd]!, this.#entries.get(prefixKeys[readEnd]!)!.ttl, now);

    // Write: every breakpoint past the read whose prefix is long enough; creation runs to the last one.
    let writtenEnd = readEnd;
    let written1h = 0;
    let previousEnd = readEnd;
    for (const breakpoint of breakpoints) {
      if (breakpoint <= readEnd) {
        if (alive(breakpoint)) this.#refresh(prefixKeys[breakpoint]!, blocks[breakpoint]!.breakpoint!, now);
        continue;
      }
      if (prefixTokens[breakpoint]! < this.#rules.minimumTokens) continue;
      this.#refresh(prefixKeys[breakpoint]!, blocks[breakpoint]!.breakpoint!, now);
      const segment = prefixTokens[breakpoint]! - (previousEnd >= 0 ? prefixTokens[previousEnd]! : 0);
      if (blocks[breakpoint]!.breakpoint === '1h') written1h += segment;
      previousEnd = breakpoint;
      writtenEnd = breakpoint;
    }
    const total = tokens;
    const read = readEnd >= 0 ? prefixTokens[readEnd]! : 0;
    const creation = writtenEnd > readEnd ? prefixTokens[writtenEnd]! - read : 0;
    return {
      inputTokens: total - read - creation,
      cacheCreationInputTokens: creation,
      cacheCreation1hInputTokens: written1h,
      cacheReadInputTokens: read,
    };
  }

  #refresh(key: string, ttl: '5m' | '1h', now: number): void {
    const entry = this.#entries.get(key);
    const longest = entry !== undefined && entry.expiresAt > now && entry.ttl === '1h' ? '1h' : ttl;
    this.#entries.set(key, { expiresAt: Math.max(entry?.expiresAt ?? 0, now + TTL_MS[longest]), ttl: longest });
  }
}
