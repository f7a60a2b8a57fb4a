/**
 * Where the registry reads time and arms timers. Everything time-dependent goes through one of these,
 * so tests can fake it and a replay can pin it.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The process clock. Globals are looked up at each call, not captured, so that fake timers installed
 * after the registry was created (vi.useFakeTimers) still govern it.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** Lets a background timer (memory polling, say) not keep the process alive on its own. */
export function unrefTimer(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null && 'unref' in handle && typeof handle.unref === 'function') {
    handle.unref();
  }
}

/**
 * setTimeout's ceiling (2^31 − 1 ms, 24.8 days): Node fires a longer delay after 1 ms, which would expire
 * every session at once. Every duration the project arms a timer for is bounded by it.
 */
export const MAX_TIMER_MS = 2_147_483_647;
