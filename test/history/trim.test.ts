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

  it('leaves an empty history alone', () => {
    expect(trimHistory([], { maxMessages: 1, maxTokens: 1 }).history).toEqual([]);
  });
});

/**
 * The reference: SPEC §4 applied literally to the whole sequence at once, with splice. Trimming after
 * every append must give exactly this, because the window's start only ever moves forward.
 */
function referenceTrim(all: readonly ConversationMessage[], maxMessages: number, maxTokens: number): ConversationMessage[] {
  if (all.length === 0) return [];
  const pinned = all[0]!;
  const keepPinned = maxMessages >= 1 && pinned.tokens <= maxTokens;
  const window = all.slice(1);
  const fits = () => {
    const count = window.length + (keepPinned ? 1 : 0);
    const tokens = historyTokens(window) + (keepPinned ? pinned.tokens : 0);
    return count <= maxMessages && tokens <= maxTokens;
  };
  let cut = !keepPinned;
  while (!fits()) {
    window.splice(0, 1);
    cut = true;
  }
  if (cut) while (window.length > 0 && window[0]!.role !== 'user') window.splice(0, 1);
  return keepPinned ? [pinned, ...window] : window;
}

describe('trimHistory, after every append (property)', () => {
  const message = fc.record({
    role: fc.constantFrom<'user' | 'assistant'>('user', 'assistant'),
    size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 4_000 })),
  });

  it('holds every bound at every moment and matches the reference', () => {
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 3_000 }),
        (messages, maxMessages, maxTokens) => {
          const limits = { maxMessages, maxTokens };
          const all: ConversationMessage[] = [];
          let history: readonly ConversationMessage[] = [];
          messages.forEach(({ role, size }, index) => {
            const content = `${index}:`.padEnd(size, '.');
            const next: ConversationMessage =
              index === 0
                ? { role, content, tokens: estimateTokens(content), pinned: true }
                : { role, content, tokens: estimateTokens(content) };
            all.push(next);
            history = trimHistory([...history, next], limits, { trimmedBefore: all.length - 1 > history.length }).history;

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
            expect(history).toEqual(referenceTrim(all, maxMessages, maxTokens));
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
