import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ConversationMessage, estimateTokens, historyTokens, trimHistory } from '../../src/history/index.js';

const user = (content: string, pinned = false): ConversationMessage =>
  pinned
    ? { role: 'user', content, tokens: estimateTokens(content), pinned: true }
    : { role: 'user', content, tokens: estimateTokens(content) };
const assistant = (content: string): ConversationMessage => ({ role: 'assistant', content, tokens: estimateTokens(content) });

describe('trimHistory', () => {
  it('returns the very same array when nothing has to go', () => {
    const history = [user('init', true), assistant('a0'), user('u1'), assistant('a1')];
    const result = trimHistory(history, { maxMessages: 50, maxTokens: 100_000 });
    expect(result.history).toBe(history);
    expect(result.trimmedMessages).toBe(0);
  });

  it('keeps the pinned first message and the newest messages, oldest dropped first', () => {
    const history = [user('init', true), assistant('a0'), user('u1'), assistant('a1'), user('u2'), assistant('a2')];
    const result = trimHistory(history, { maxMessages: 3, maxTokens: 100_000 });
    expect(result.history.map((m) => m.content)).toEqual(['init', 'u2', 'a2']);
    expect(result.trimmedMessages).toBe(3);
    expect(result.trimmedTokens).toBe(historyTokens(history) - historyTokens(result.history));
  });

  it('starts the window after a cut on a user message', () => {
    const history = [user('init', true), assistant('a0'), user('u1'), assistant('a1'), user('u2'), assistant('a2')];
    // Four fit (pinned + a1 u2 a2) but a1 would answer a prompt that is gone: it is dropped too.
    const result = trimHistory(history, { maxMessages: 4, maxTokens: 100_000 });
    expect(result.history.map((m) => m.content)).toEqual(['init', 'u2', 'a2']);
  });

  it('bounds tokens as well as messages', () => {
    const big = 'x'.repeat(400); // 100 tokens
    const history = [user('init', true), assistant(big), user(big), assistant(big), user('u'), assistant('a')];
    const result = trimHistory(history, { maxMessages: 50, maxTokens: 150 });
    expect(historyTokens(result.history)).toBeLessThanOrEqual(150);
    expect(result.history.map((m) => m.content)).toEqual(['init', 'u', 'a']);
  });

  it('drops a pinned message that is over the token bound on its own', () => {
    const history = [user('p'.repeat(4_000), true), assistant('a0'), user('u1'), assistant('a1')];
    const result = trimHistory(history, { maxMessages: 50, maxTokens: 500 });
    expect(result.history.map((m) => m.content)).toEqual(['u1', 'a1']);
  });

  it('cuts in steps: over a bound, down to the low-water marks, then only appends until the next cut', () => {
    const limits = { maxMessages: 10, maxTokens: 100_000, lowWater: 0.5 };
    let history: readonly ConversationMessage[] = [user('init', true)];
    const seen: string[][] = [];
    for (let i = 1; i <= 14; i++) {
      const next = i % 2 === 1 ? assistant(`a${i}`) : user(`u${i}`);
      history = trimHistory([...history, next], limits, { trimmedBefore: i > history.length }).history;
      seen.push(history.map((m) => m.content));
    }
    // Ten messages fit; the eleventh append cuts to five (the pinned one and four newest, opening on a user message).
    expect(seen[8]).toEqual(['init', 'a1', 'u2', 'a3', 'u4', 'a5', 'u6', 'a7', 'u8', 'a9']);
    expect(seen[9]).toEqual(['init', 'u8', 'a9', 'u10']);
    // Then the front stays as it is: each later history starts with the one before it.
    for (let i = 10; i < seen.length; i++) expect(seen[i]!.slice(0, seen[i - 1]!.length)).toEqual(seen[i - 1]);
    expect(seen.at(-1)).toEqual(['init', 'u8', 'a9', 'u10', 'a11', 'u12', 'a13', 'u14']);
  });

  it('cuts to the low-water mark of tokens when the token bound is the one crossed', () => {
    const hundred = 'x'.repeat(400); // 100 tokens
    const history = [user('init', true), assistant(hundred), user(hundred), assistant(hundred), user(hundred), assistant(hundred)];
    // 501 tokens over a bound of 500: cut to 250, of which the pinned message takes 1.
    const result = trimHistory(history, { maxMessages: 50, maxTokens: 500, lowWater: 0.5 });
    expect(result.history).toEqual([history[0], history[4], history[5]]);
    expect(historyTokens(result.history)).toBeLessThanOrEqual(250);
  });

  it('with a low-water mark of 1 cuts only to the bound, as before', () => {
    const history = [user('init', true), assistant('a0'), user('u1'), assistant('a1'), user('u2'), assistant('a2')];
    expect(trimHistory(history, { maxMessages: 5, maxTokens: 100_000, lowWater: 1 }).history.map((m) => m.content)).toEqual([
      'init',
      'u1',
      'a1',
      'u2',
      'a2',
    ]);
    expect(trimHistory(history, { maxMessages: 5, maxTokens: 100_000 }).history).toEqual(
      trimHistory(history, { maxMessages: 5, maxTokens: 100_000, lowWater: 1 }).history,
    );
  });

  it('leaves an empty history alone', () => {
    expect(trimHistory([], { maxMessages: 1, maxTokens: 1 }).history).toEqual([]);
  });
});

/**
 * The reference: SPEC §4 applied literally, one append at a time, with splice: while the history is within
 * both bounds nothing goes; once an append takes it over either, the oldest messages after the pinned
 * one go until it fits the low-water marks (or all of them, and then the pinned one too if it alone is
 * over the token bound), and after any cut the window opens on a user message.
 */
function referenceAppend(
  state: { history: ConversationMessage[]; cut: boolean },
  next: ConversationMessage,
  limits: { maxMessages: number; maxTokens: number; lowWater: number },
): void {
  const { history } = state;
  history.push(next);
  const pinned = history[0]?.pinned === true ? history[0] : undefined;
  const fits = (messages: number, tokens: number) => history.length <= messages && historyTokens(history) <= tokens;
  if (!fits(limits.maxMessages, limits.maxTokens)) {
    state.cut = true;
    const lowMessages = Math.max(pinned ? 1 : 0, Math.floor(limits.maxMessages * limits.lowWater));
    const lowTokens = Math.floor(limits.maxTokens * limits.lowWater);
    const from = pinned ? 1 : 0;
    while (history.length > from && !fits(lowMessages, lowTokens)) history.splice(from, 1);
    if (pinned && pinned.tokens > limits.maxTokens) history.splice(0, 1);
  }
  if (state.cut) {
    const from = history[0]?.pinned === true ? 1 : 0;
    while (history.length > from && history[from]!.role !== 'user') history.splice(from, 1);
  }
}

describe('trimHistory, after every append (property)', () => {
  const message = fc.record({
    role: fc.constantFrom<'user' | 'assistant'>('user', 'assistant'),
    size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 4_000 })),
  });

  it('holds every bound at every moment, cuts only over a bound and then to the low-water marks, and matches the reference', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 3_000 }),
        fc.oneof(fc.constant(1), fc.constant(0.5), fc.double({ min: 0.05, max: 1, noNaN: true })),
        (messages, maxMessages, maxTokens, lowWater) => {
          const limits = { maxMessages, maxTokens, lowWater };
          const all: ConversationMessage[] = [];
          const reference = { history: [] as ConversationMessage[], cut: false };
          let history: readonly ConversationMessage[] = [];
          messages.forEach(({ role, size }, index) => {
            const content = `${index}:`.padEnd(size, '.');
            const next: ConversationMessage =
              index === 0
                ? { role, content, tokens: estimateTokens(content), pinned: true }
                : { role, content, tokens: estimateTokens(content) };
            all.push(next);
            const before = history;
            const appended = [...history, next];
            history = trimHistory(appended, limits, { trimmedBefore: all.length - 1 > before.length }).history;

            // The bounds hold after every single append.
            expect(history.length).toBeLessThanOrEqual(maxMessages);
            expect(historyTokens(history)).toBeLessThanOrEqual(maxTokens);
            // The first message stays pinned while it fits on its own.
            if (all[0]!.tokens <= maxTokens) expect(history[0]).toBe(all[0]);
            // What follows is a run of the newest messages, in order.
            const window = history[0] === all[0] ? history.slice(1) : history;
            expect(window).toEqual(all.slice(all.length - window.length));
            // After a cut the window opens on a user message.
            const cut = window.length < all.length - 1;
            if (cut && window.length > 0) expect(window[0]!.role).toBe('user');
            // Within the bounds an append only adds: the front, the prefix of the next call, is kept (unless
            // a reply would open the window after a cut).
            const over = appended.length > maxMessages || historyTokens(appended) > maxTokens;
            const windowBefore = before[0] === all[0] ? before.length - 1 : before.length;
            if (!over && (before.length === all.length - 1 || next.role === 'user' || windowBefore > 0)) {
              expect(history).toEqual(appended);
            }
            // A cut over a bound goes down to the low-water marks.
            if (over && history.length > 1) {
              expect(history.length).toBeLessThanOrEqual(Math.max(1, Math.floor(maxMessages * lowWater)));
              expect(historyTokens(history)).toBeLessThanOrEqual(Math.max(history[0]!.tokens, Math.floor(maxTokens * lowWater)));
            }
            referenceAppend(reference, next, limits);
            expect(history).toEqual(reference.history);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
