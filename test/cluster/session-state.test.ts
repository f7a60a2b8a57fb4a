/**
 * The stand-in for a history a Restate turn has not read: every look inside it is counted, and the
 * steps a turn takes without reading the history (queued work, a touch, a slot grant, a timer) do not
 * look inside it, so they are decided as they would be with the real one.
 */
import * as restate from '@restatedev/restate-sdk';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_SETTINGS } from '../../machines/session.machine.js';
import type { WorkItem } from '../../machines/session.types.js';
import { connectRestateEngine } from '../../src/cluster/engine.js';
import { type MachineState, startMachine, stepMachine } from '../../src/cluster/machine.js';
import {
  type IdentityRecord,
  identityFor,
  joinRecord,
  needsHistory,
  type SessionRecord,
  type StoredRecord,
  storedRecord,
  UNREAD_HISTORY,
  unreadHistoryLooksSoFar,
} from '../../src/cluster/session-state.js';

const at = 1_000_000;
const item = (n: number): WorkItem => ({ id: `observation-${n}`, kind: 'observation', prompt: `o${n}`, promptTokens: 1, queuedAt: at + n });

/** Steps `state` with the history replaced by the stand-in; says whether anything looked inside it. */
function stepUnread(state: MachineState, event: Parameters<typeof stepMachine>[1]) {
  const before = unreadHistoryLooksSoFar();
  const step = stepMachine({ ...state, context: { ...state.context, history: UNREAD_HISTORY } }, event);
  return { step, looked: unreadHistoryLooksSoFar() !== before };
}

describe('the unread history', () => {
  it('counts every look inside it: a read, `in`, its keys, a spread', () => {
    const looks: (() => unknown)[] = [
      () => UNREAD_HISTORY.length,
      () => UNREAD_HISTORY[0],
      () => '0' in UNREAD_HISTORY,
      () => Object.keys(UNREAD_HISTORY),
      () => Object.entries(UNREAD_HISTORY),
      () => [...UNREAD_HISTORY],
      () => Object.getOwnPropertyDescriptor(UNREAD_HISTORY, 'length'),
    ];
    for (const look of looks) {
      const before = unreadHistoryLooksSoFar();
      look();
      expect(unreadHistoryLooksSoFar(), String(look)).toBeGreaterThan(before);
    }
    // Handing it on (what the machine's assigns do with a context) is no look.
    const before = unreadHistoryLooksSoFar();
    const context = { history: UNREAD_HISTORY };
    const copy = { ...context, queue: [] };
    expect(copy.history).toBe(UNREAD_HISTORY);
    expect(unreadHistoryLooksSoFar()).toBe(before);
  });

  it('is not looked inside by the steps a turn takes without the history', () => {
    const settings = { ...DEFAULT_SESSION_SETTINGS, batchWindowMs: 0 };
    let state = startMachine({ sessionDbId: 1, contentSessionId: 'abc', project: 'demo', settings, at }).state;
    // A prompt: the session asks for a slot (the history is appended only when the batch starts).
    state = stepMachine(state, { type: 'INIT', prompt: 'fix it', promptTokens: 2, promptNumber: 1, at }).state;
    const queued = stepUnread(state, { type: 'WORK_QUEUED', item: item(1), at: at + 1 });
    expect(queued.looked).toBe(false);
    expect(queued.step.state.context.history).toBe(UNREAD_HISTORY);
    const touched = stepUnread(queued.step.state, { type: 'TOUCH', at: at + 2 });
    expect(touched.looked).toBe(false);
    expect(touched.step.state.context.history).toBe(UNREAD_HISTORY);
  });
});

const seed = { contentSessionId: 'abc', project: 'demo', at };

describe("a session object's identity", () => {
  it("is made from the seed when there is none, kept when the seed is the same content session's", () => {
    const made = identityFor('7', null, seed);
    expect(made).toMatchObject({ sessionDbId: 7, contentSessionId: 'abc', project: 'demo', createdAt: at, status: 'live' });
    const known = { ...made, lastPromptNumber: 3 };
    expect(identityFor('7', known, { ...seed, at: at + 5 })).toBe(known);
  });

  it("refuses another content session's seed (a forged or mistaken id) instead of merging the two", () => {
    const known = identityFor('7', null, seed);
    let refusal: unknown;
    try {
      identityFor('7', known, { ...seed, contentSessionId: 'xyz' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(restate.TerminalError);
    expect((refusal as restate.TerminalError).code).toBe(409);
    expect((refusal as Error).message).toBe('session 7 belongs to content session "abc", not "xyz"');
  });
});

describe('the stored record', () => {
  const settings = { ...DEFAULT_SESSION_SETTINGS, batchWindowMs: 0 };
  const started = startMachine({ sessionDbId: 1, contentSessionId: 'abc', project: 'demo', settings, at }).state;
  const history = [
    { role: 'user' as const, content: 'fix it', tokens: 2, pinned: true as const },
    { role: 'assistant' as const, content: 'ok', tokens: 1 },
  ];
  const record: SessionRecord = {
    ...started,
    context: { ...started.context, history },
    timers: {},
    sent: {},
    slot: null,
    agent: null,
    seq: 4,
    flushedSeq: 0,
    historySize: { length: 2, tokens: 3 },
  };
  const identity: IdentityRecord = identityFor('1', null, seed);

  it('keeps the history out of the record, and joins it back with the size it has', () => {
    const stored = storedRecord(record, identity);
    expect(stored.context.history).toBeUndefined();
    expect(stored.identity).toBe(identity);
    expect(needsHistory(stored)).toBe(false);
    const joined = joinRecord(stored, history);
    expect(joined.context.history).toBe(history);
    expect(joined.historySize).toEqual({ length: 2, tokens: 3 });
    expect((joined as { identity?: unknown }).identity).toBeUndefined();
    // Not read: the stand-in, with the size the record kept.
    expect(joinRecord(stored, UNREAD_HISTORY).historySize).toEqual({ length: 2, tokens: 3 });
  });

  it('reads a record written before the split (its history inside, no size) with its own history and its size', () => {
    const { historySize: _size, ...older } = record;
    const legacy = older as unknown as StoredRecord;
    expect(needsHistory(legacy)).toBe(true);
    const joined = joinRecord(legacy, []);
    expect(joined.context.history).toEqual(history);
    expect(joined.historySize).toEqual({ length: 2, tokens: 3 });
  });
});

describe('connectRestateEngine', () => {
  it.each([
    [{ reservedIds: Number.NaN }, /connectRestateEngine: reservedIds: /],
    [{ reservedIds: 0 }, /reservedIds: .*1/],
    [{ reservedIds: 1_001 }, /reservedIds: .*1000/],
    [{ reservedIds: 2.5 }, /reservedIds: /],
    [{ pollMs: -1 }, /pollMs: /],
    [{ listConcurrency: 0 }, /listConcurrency: /],
    [{ cachedIds: -5 }, /cachedIds: /],
    [{ retryForMs: 'soon' }, /retryForMs: /],
  ])('refuses %o with a message naming the option, before reaching anything', (wrong, message) => {
    expect(() => connectRestateEngine({ ingressUrl: 'http://127.0.0.1:9', ...(wrong as object) })).toThrow(message);
  });
});
