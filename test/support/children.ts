import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Last line of defence for the processes the tests and the benches start (workers, restate-server
 * nodes, service processes, bench runners): each owner stops its own by pid when it is done, but a
 * `beforeAll` that times out while a start is under way, a bench that fails half-way, an uncaught
 * error or a signal would otherwise leave them running after their owner is gone. So:
 *   - whatever is still running when the owner exits (normally, on an uncaught error, or on SIGTERM,
 *     SIGINT or SIGHUP, which by default end a process without its 'exit' handlers) is SIGKILLed by pid;
 *   - a watchdog process holds the other end of a pipe from the owner and SIGKILLs the same pids when
 *     that pipe closes, which also happens when the owner is killed with SIGKILL and runs no handler;
 *   - an owner whose own parent is gone ends as on SIGTERM: `npm run bench` is npm → sh → node, and a
 *     SIGTERM to npm ends the sh but not the bench under it (so the bench scripts run under
 *     `node --import tsx`, not under tsx's own launcher, whose process would stand in between).
 */
const RUNNING = Symbol.for('session-lifecycle.test.children');

interface Registry {
  readonly running: Set<ChildProcess>;
  watchdog: ChildProcess | undefined;
}

/** Ignores the signals its owner may get (Ctrl-C reaches the whole process group): it ends when the pipe does. */
const WATCHDOG = `
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => {});
const pids = new Set();
let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\\n');
  pending = lines.pop();
  for (const line of lines) (line[0] === '+' ? pids.add(line.slice(1)) : pids.delete(line.slice(1)));
});
process.stdin.on('close', () => {
  for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
  process.exit(0);
});
`;

const EXIT_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
/** How often an owner checks that its parent is still there (an orphan is re-parented, its ppid changes). */
const PARENT_CHECK_MS = 500;

function killAll(running: Set<ChildProcess>): void {
  for (const child of running) {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function registry(): Registry {
  const holder = globalThis as { [RUNNING]?: Registry };
  if (holder[RUNNING] === undefined) {
    const state: Registry = { running: new Set(), watchdog: undefined };
    holder[RUNNING] = state;
    const end = (signal: string) => {
      killAll(state.running);
      process.exit(EXIT_CODES[signal]);
    };
    process.once('exit', () => killAll(state.running));
    for (const signal of Object.keys(EXIT_CODES)) process.once(signal, () => end(signal));
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) end('SIGTERM');
    }, PARENT_CHECK_MS).unref();
  }
  return holder[RUNNING];
}

function watchdog(state: Registry): ChildProcess {
  if (state.watchdog === undefined || state.watchdog.exitCode !== null) {
    const started = spawn(process.execPath, ['-e', WATCHDOG], { stdio: ['pipe', 'ignore', 'ignore'] });
    // Neither the watchdog nor its pipe keeps the owner alive.
    started.unref();
    (started.stdin as unknown as { unref(): void }).unref();
    started.stdin!.on('error', () => {});
    state.watchdog = started;
  }
  return state.watchdog;
}

/**
 * Ends this process as SIGTERM would once its parent is gone, before it has any child to register:
 * for a long bench that starts none (killOnExit does the same for the others).
 */
export function endWithParent(): void {
  registry();
}

/** Registers `child` to be killed if it outlives its owner (this process), however that ends; returns it. */
export function killOnExit<T extends ChildProcess>(child: T): T {
  if (child.pid === undefined) return child; // it never started (spawn reports the error itself)
  const state = registry();
  state.running.add(child);
  const guard = watchdog(state);
  guard.stdin!.write(`+${child.pid}\n`);
  child.once('exit', () => {
    state.running.delete(child);
    if (guard.exitCode === null) guard.stdin!.write(`-${child.pid}\n`);
  });
  return child;
}
