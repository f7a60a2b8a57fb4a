/**
 * Fake time with a real log. The SQLite store commits on the real event loop (setImmediate, captured
 * before any test fakes it), and agent slots are handed out only after a commit, so a test that fakes
 * time must let real turns of the event loop pass between its fake steps.
 */
import { vi } from 'vitest';

const realSetImmediate = globalThis.setImmediate;

/** One real turn of the event loop: commits scheduled before it have landed. */
export const realTurn = () => new Promise<void>((resolve) => realSetImmediate(resolve));

async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await realTurn();
    await vi.advanceTimersByTimeAsync(0);
  }
}

/** Advances fake time by `ms`, at most `stepMs` between two real turns (commits, and what follows them). */
export async function advance(ms: number, stepMs = 1): Promise<void> {
  let left = ms;
  while (left > 0) {
    await settle();
    const step = Math.min(left, stepMs);
    await vi.advanceTimersByTimeAsync(step);
    left -= step;
  }
  await settle();
}
