/**
 * The slot pool's rule, shared by both engines (src/engine/slot-queue.ts), on the simplest storage:
 * bounded, first come first served, a repeated request queued once, a withdrawn one skipped, a grant
 * its requester refuses passed to the next.
 */
import { describe, expect, it } from 'vitest';
import { grantSlots, releaseSlot, requestSlot, type SlotStorage, withdrawSlotRequest } from '../../src/engine/index.js';

function pool(): SlotStorage<string, { key: string }> & { holders: string[]; waiting: string[] } {
  const holders: string[] = [];
  const waiting: string[] = [];
  const remove = (list: string[], key: string) => {
    const at = list.indexOf(key);
    if (at >= 0) list.splice(at, 1);
    return at >= 0;
  };
  return {
    holders,
    waiting,
    held: () => holders.length,
    holds: (key) => holders.includes(key),
    hold: ({ key }) => holders.push(key),
    drop: (key) => remove(holders, key),
    isWaiting: (key) => waiting.includes(key),
    enqueue: ({ key }) => waiting.push(key),
    first: () => (waiting[0] === undefined ? undefined : { key: waiting[0] }),
    withdraw: (key) => remove(waiting, key),
  };
}

describe('the slot rule', () => {
  it('grants in arrival order within the capacity, and the next one when a slot comes back', () => {
    const slots = pool();
    for (const key of ['a', 'b', 'c', 'a']) requestSlot(slots, { key });
    expect(slots.waiting).toEqual(['a', 'b', 'c']);
    const granted: string[] = [];
    expect(grantSlots(slots, 2, ({ key }) => granted.push(key) > 0)).toBe(2);
    expect(granted).toEqual(['a', 'b']);
    expect(requestSlot(slots, { key: 'a' })).toBe(false); // holds one already
    expect(releaseSlot(slots, 'a')).toBe(true);
    expect(releaseSlot(slots, 'a')).toBe(false);
    expect(grantSlots(slots, 2, ({ key }) => granted.push(key) > 0)).toBe(1);
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(slots.holders).toEqual(['b', 'c']);
  });

  it('skips a withdrawn request, and passes on a grant its requester no longer wants', () => {
    const slots = pool();
    for (const key of ['gone', 'moved-on', 'next']) requestSlot(slots, { key });
    withdrawSlotRequest(slots, 'gone');
    const taken = grantSlots(slots, 1, ({ key }) => key !== 'moved-on');
    expect(taken).toBe(1);
    expect(slots.holders).toEqual(['next']);
    expect(slots.waiting).toEqual([]);
  });
});
