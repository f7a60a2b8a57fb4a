/**
 * How tests wait: on what they observe, never for a fixed time. `waitFor` checks a condition again each
 * time something it listens to says that something happened (an engine's events, an agent's calls, a
 * child's output), and, for what announces nothing (another process, an HTTP read, a cluster), every
 * `everyMs`. It fails after `timeoutMs` (or, with `progress`, once nothing moved for `stallMs`), naming
 * what it waited for and what it last saw. One actor is waited for with xstate's own `waitFor`.
 */
import type { SessionEngine } from '../../src/index.js';

/** Subscribes `recheck` to something that happens; returns how to unsubscribe. */
export type Wakeup = (recheck: () => void) => () => void;

export interface WaitOptions {
  /** What is waited for, for the failure's message; a function is called then (it may say what was last seen). */
  readonly what: string | (() => string);
  /** Fail after this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Check at least this often (what announces nothing). Default 20 ms without `on`, 500 ms with it. */
  readonly everyMs?: number;
  /** What to listen to: each call checks again at once. */
  readonly on?: readonly Wakeup[];
  /**
   * For long waits on a loaded machine: instead of a total budget, fail only when `progress()` (any value
   * that changes as work gets done) stayed the same for `stallMs`.
   */
  readonly progress?: () => unknown;
  readonly stallMs?: number;
}

/** Resolves with the first truthy value `check` gives; rejects as `options` says. */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitOptions): Promise<NonNullable<Exclude<T, false | 0 | ''>>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const everyMs = options.everyMs ?? (options.on === undefined ? 20 : 500);
  const started = Date.now();
  let lastProgress = options.progress === undefined ? undefined : JSON.stringify(await options.progress());
  let movedAt = started;
  let wake: (() => void) | undefined;
  const unsubscribe = (options.on ?? []).map((subscribe) => subscribe(() => wake?.()));
  try {
    for (;;) {
      const value = await check();
      if (value) return value as NonNullable<Exclude<T, false | 0 | ''>>;
      const now = Date.now();
      if (options.progress !== undefined) {
        const progress = JSON.stringify(await options.progress());
        if (progress !== lastProgress) {
          lastProgress = progress;
          movedAt = now;
        } else if (now - movedAt > (options.stallMs ?? timeoutMs)) {
          throw new Error(`no progress for ${options.stallMs ?? timeoutMs} ms (last: ${progress}): ${describe(options.what)}`);
        }
      } else if (now - started > timeoutMs) {
        throw new Error(`not within ${timeoutMs} ms: ${describe(options.what)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    for (const stop of unsubscribe) stop();
  }
}

function describe(what: string | (() => string)): string {
  return typeof what === 'string' ? what : what();
}

/**
 * An engine's events as wakeups: each one it announces as it happens (`processed`, `disposed`,
 * `slotGranted`: see its `notifications`). An engine that announces none (Restate) gives none, and
 * `waitFor` checks every `everyMs`.
 */
export function engineEvents(engine: SessionEngine): Wakeup[] {
  const live = (['processed', 'disposed', 'slotGranted'] as const).filter((event) => engine.notifications[event] === 'live');
  return live.map((event) => (recheck: () => void) => engine.on(event, recheck));
}

/** Waits until the engine shows `check` true, checking again after each event it announces. */
export function waitForEngine<T>(
  engine: SessionEngine,
  check: () => T | Promise<T>,
  options: Omit<WaitOptions, 'on'> & { readonly on?: readonly Wakeup[] },
): Promise<NonNullable<Exclude<T, false | 0 | ''>>> {
  const on = [...engineEvents(engine), ...(options.on ?? [])];
  // Its events wake the wait at once; what it does not announce (a slot released, a commit landed) is read again every 50 ms.
  return waitFor(check, { ...options, on, everyMs: options.everyMs ?? 50 });
}

/** A session's state name once it is `state` (`disposed` once it is gone); resolves with when it was seen. */
export async function waitForState(
  engine: SessionEngine,
  sessionDbId: number,
  state: string,
  options: { readonly timeoutMs?: number } = {},
): Promise<number> {
  let seen = '';
  await waitForEngine(
    engine,
    async () => {
      seen = (await engine.get({ sessionDbId }))?.state ?? 'disposed';
      return seen === state;
    },
    { what: () => `session ${sessionDbId} in ${state} (last seen ${seen})`, ...options },
  );
  return Date.now();
}
