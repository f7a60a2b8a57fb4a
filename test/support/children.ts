import type { ChildProcess } from 'node:child_process';

/**
 * Last line of defence for the processes the tests start (workers, restate-server nodes, service
 * processes): each suite stops its own by pid in `afterAll`, but a `beforeAll` that times out while a
 * start is still under way, or an uncaught error, would otherwise leave them running after the test
 * process is gone. Whatever is still running when it exits is SIGKILLed by pid.
 */
const RUNNING = Symbol.for('session-lifecycle.test.children');
type Registry = Set<ChildProcess>;

function registry(): Registry {
  const holder = globalThis as { [RUNNING]?: Registry };
  if (holder[RUNNING] === undefined) {
    const running: Registry = new Set();
    holder[RUNNING] = running;
    const killAll = () => {
      for (const child of running) {
        try {
          process.kill(child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
    process.once('exit', killAll);
    // A terminated test process does not run 'exit' handlers by default.
    process.once('SIGTERM', () => {
      killAll();
      process.exit(143);
    });
  }
  return holder[RUNNING];
}

/** Registers `child` to be killed if it outlives the test process; returns it. */
export function killOnExit<T extends ChildProcess>(child: T): T {
  const running = registry();
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}
