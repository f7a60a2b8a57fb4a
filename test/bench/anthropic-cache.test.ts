/**
 * The cost benchmark's model of Anthropic's prompt caching and prices (bench/lib/anthropic-cache.ts):
 * each documented rule, on small requests whose charge is worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { type CacheBlock, dollarsOf, HAIKU_4_5_PRICES, PromptCache, TooManyBreakpointsError } from '../../bench/lib/anthropic-cache.js';

const block = (content: string, tokens: number, breakpoint?: '5m' | '1h'): CacheBlock =>
  breakpoint === undefined ? { content, tokens } : { content, tokens, breakpoint };
/** A conversation of `n` blocks of 1,000 tokens each, a breakpoint on the last one. */
const conversation = (n: number, from = 0): CacheBlock[] =>
  Array.from({ length: n }, (_, i) => block(`message ${from + i}`, 1_000, i === n - 1 ? '5m' : undefined));
const MINUTE = 60_000;

describe('PromptCache (Anthropic prompt caching, Haiku 4.5)', () => {
  it('caches nothing below the minimum cacheable length (4,096 tokens), and bills it all as input', () => {
    const cache = new PromptCache();
    const usage = cache.charge([block('system', 1_000, '5m'), block('user', 3_095, '5m')], 0);
    expect(usage).toEqual({ inputTokens: 4_095, cacheCreationInputTokens: 0, cacheCreation1hInputTokens: 0, cacheReadInputTokens: 0 });
    expect(cache.size(0)).toBe(0);
  });

  it('writes the prefix up to the last breakpoint; what follows it is input', () => {
    const cache = new PromptCache();
    const blocks = [...conversation(5), block('the question', 50)];
    expect(cache.charge(blocks, 0)).toMatchObject({ inputTokens: 50, cacheCreationInputTokens: 5_000, cacheReadInputTokens: 0 });
  });

  it('reads a growing conversation’s previous prefix and writes only what is new', () => {
    const cache = new PromptCache();
    cache.charge(conversation(5), 0);
    expect(cache.charge(conversation(7), 1_000)).toMatchObject({
      inputTokens: 0,
      cacheCreationInputTokens: 2_000,
      cacheReadInputTokens: 5_000,
    });
    // The same request again reads all of it.
    expect(cache.charge(conversation(7), 2_000)).toMatchObject({ cacheCreationInputTokens: 0, cacheReadInputTokens: 7_000 });
  });

  it('misses when the first block changes: a sliding window rewrites everything', () => {
    const cache = new PromptCache();
    cache.charge(conversation(8), 0);
    expect(cache.charge(conversation(8, 1), 1_000)).toMatchObject({ cacheReadInputTokens: 0, cacheCreationInputTokens: 8_000 });
  });

  it('looks back at most 20 blocks before a breakpoint', () => {
    const within = new PromptCache();
    within.charge(conversation(5), 0);
    expect(within.charge(conversation(25), 1)).toMatchObject({ cacheReadInputTokens: 5_000, cacheCreationInputTokens: 20_000 });
    const beyond = new PromptCache();
    beyond.charge(conversation(5), 0);
    expect(beyond.charge(conversation(26), 1)).toMatchObject({ cacheReadInputTokens: 0, cacheCreationInputTokens: 26_000 });
    // A second breakpoint nearer the old prefix finds it again.
    const twoBreakpoints = new PromptCache();
    twoBreakpoints.charge(conversation(5), 0);
    const blocks = conversation(26).map((b, i) => (i === 10 ? { ...b, breakpoint: '5m' as const } : b));
    expect(twoBreakpoints.charge(blocks, 1)).toMatchObject({ cacheReadInputTokens: 5_000, cacheCreationInputTokens: 21_000 });
  });

  it('keeps an entry 5 minutes from its last use: a read refreshes it', () => {
    const cache = new PromptCache();
    cache.charge(conversation(5), 0);
    expect(cache.charge(conversation(5), 4 * MINUTE)).toMatchObject({ cacheReadInputTokens: 5_000 });
    expect(cache.charge(conversation(5), 8 * MINUTE)).toMatchObject({ cacheReadInputTokens: 5_000 });
    expect(cache.charge(conversation(5), 13 * MINUTE + 1)).toMatchObject({ cacheReadInputTokens: 0, cacheCreationInputTokens: 5_000 });
  });

  it('keeps a 1-hour entry an hour, and bills its write at 2×', () => {
    const cache = new PromptCache();
    const blocks = conversation(5).map((b) => (b.breakpoint ? { ...b, breakpoint: '1h' as const } : b));
    const first = cache.charge(blocks, 0);
    expect(first).toMatchObject({ cacheCreationInputTokens: 5_000, cacheCreation1hInputTokens: 5_000 });
    expect(cache.charge(blocks, 59 * MINUTE)).toMatchObject({ cacheReadInputTokens: 5_000 });
    expect(dollarsOf({ ...first, outputTokens: 0 })).toBeCloseTo((5_000 * 2) / 1_000_000, 10);
  });

  it('reads up to an earlier breakpoint when the conversation after it changed (system prompt kept)', () => {
    const cache = new PromptCache();
    const system = block('a long system prompt', 5_000, '5m');
    cache.charge([system, ...conversation(3)], 0);
    expect(cache.charge([system, ...conversation(3, 100)], 1_000)).toMatchObject({
      cacheReadInputTokens: 5_000,
      cacheCreationInputTokens: 3_000,
    });
  });

  it('refuses more than 4 breakpoints, as the API does', () => {
    const blocks = Array.from({ length: 5 }, (_, i) => block(`b${i}`, 1_000, '5m'));
    expect(() => new PromptCache().charge(blocks, 0)).toThrow(TooManyBreakpointsError);
  });

  it('prices Haiku 4.5: $1 input, $1.25 cache write, $0.10 cache read, $5 output per million tokens', () => {
    expect(HAIKU_4_5_PRICES).toMatchObject({ input: 1, cacheWrite5m: 1.25, cacheRead: 0.1, output: 5 });
    const usage = {
      inputTokens: 1_000_000,
      cacheCreationInputTokens: 1_000_000,
      cacheCreation1hInputTokens: 0,
      cacheReadInputTokens: 1_000_000,
      outputTokens: 1_000_000,
    };
    expect(dollarsOf(usage)).toBeCloseTo(1 + 1.25 + 0.1 + 5, 10);
  });
});
