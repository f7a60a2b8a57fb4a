/**
 * The stand-in for a history a Restate turn has not read: every look inside it is counted, and the
 * steps a turn takes without reading the history (queued work, a touch, a slot grant, a timer) do not
 * look inside it, so they are decided as they would be with the real one.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SESSION_SETTINGS } from '../../machines/session.machine.js';
import type { WorkItem } from '../../machines/session.types.js';
import { type MachineState, startMachine, stepMachine } from '../../src/cluster/machine.js';
import { UNREAD_HISTORY, unreadHistoryLooksSoFar } from '../../src/cluster/session-state.js';

const at = 1_000_000;
const item = (n: number): WorkItem => ({ id: `observation-${n}`, kind: 'observation', prompt: `o${n}`, promptTokens: 1, queuedAt: at + n });

/** Steps `state` with the history replaced by the stand-in; says whether anything looked inside it. */
function stepUnread(state: MachineState, event: Parameters<typeof stepMachine>[1]) {
  const before = unreadHistoryLooksSoFar();
  const step = stepMachine({ ...state, context: { ...state.context, history: UNREAD_HISTORY } }, event);
  return { step, looked: unreadHistoryLooksSoFar() !== before };
}

describe('the unread history', () => {
  it('counts every look inside it', () => {
    const before = unreadHistoryLooksSoFar();
    expect(UNREAD_HISTORY.length).toBe(0);
    expect(unreadHistoryLooksSoFar()).toBeGreaterThan(before);
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
