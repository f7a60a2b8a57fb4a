/**
 * Owns the processes a provider starts (Claude Code, one per call) so that none outlives its reason:
 * - each runs in a process group of its own, and is killed with its whole group when its call ends
 *   (answered, aborted, timed out, shut down), whatever it started meanwhile included;
 * - on Linux it is started through `setpriv --pdeathsig KILL`, so the kernel kills it the moment the
 *   worker dies, `kill -9` included;
 * - a lifeline (one `/bin/sh` per worker, reading a pipe only the worker holds) kills every group still
 *   listed when that pipe closes, which it does however the worker ends: what the child started goes too;
 * - each is recorded in the data directory while it runs, so that the next start reaps what even the
 *   lifeline could not (the machine lost power, the lifeline was killed with the worker's group);
 * - at most `maxRunning` are alive at once: a call waits for a place, which a process frees only when
 *   it has exited, not when it was asked to.
 * May not: know what the process is for (the provider decides that).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** What a provider SDK needs of a started process (the Claude Agent SDK's `SpawnedProcess`). */
export interface GuardedProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly killed: boolean;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly pid: number | undefined;
  kill(signal: NodeJS.Signals): boolean;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  once(event: 'error', listener: (error: Error) => void): void;
  off(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  off(event: 'error', listener: (error: Error) => void): void;
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env: Record<string, string | undefined>;
  /** Receives what the process writes on stderr. */
  readonly stderr?: (text: string) => void;
}

export interface ChildProcessesOptions {
  /**
   * A directory where each running process is recorded (pid, start time, owner), so that the next start
   * reaps what a crash left. The worker uses `$CLAUDE_MEM_DATA_DIR/agent-processes`. Default: none.
   */
  readonly recordDir?: string;
  /** Most processes alive at once (the worker: CLAUDE_MEM_MAX_CONCURRENT_AGENTS). Default: no bound. */
  readonly maxRunning?: number;
  /** util-linux `setpriv`, for the parent-death signal; `false` to go without. Default: /usr/bin/setpriv when it exists. */
  readonly setpriv?: string | false;
}

/** A place among the `maxRunning`: spawn at most one process with it, then release it. */
export interface ProcessSlot {
  spawn(spec: SpawnSpec): GuardedProcess;
  /** Kills the process's group if it is still running; the place is free once the process has exited. */
  release(): void;
}

interface ProcessRecord {
  readonly pid: number;
  readonly startTicks: string | undefined;
  readonly ownerPid: number;
  readonly ownerStartTicks: string | undefined;
  readonly command: string;
  readonly startedAt: string;
}

/**
 * The start time of a running process in clock ticks since boot (field 22 of /proc/PID/stat): with the
 * pid, its identity. Undefined for no process, or a dead one (a zombie) waiting to be reaped.
 */
function startTicksOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Kills every group still listed when its input closes: the worker is gone, however it went. */
// The ${…} are the shell's parameter expansions, not templates.
const LIFELINE_SCRIPT = [
  "groups=' '",
  'while IFS= read -r line; do',
  '  case $line in',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion
  '    +*) groups="$groups${line#+} " ;;',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion
  '    -*) gone=${line#-}; kept=\' \'; for g in $groups; do [ "$g" = "$gone" ] || kept="$kept$g "; done; groups=$kept ;;',
  '  esac',
  'done',
  'for g in $groups; do kill -9 "-$g" 2>/dev/null; done',
].join('\n');

export class ChildProcesses {
  readonly #recordDir: string | undefined;
  readonly #maxRunning: number;
  readonly #setpriv: string | undefined;
  /** Processes alive (spawned and not yet exited), by pid. */
  readonly #running = new Map<number, ChildProcess>();
  /** Places taken: by a running process, or reserved by a call about to spawn one. */
  #taken = 0;
  readonly #waiting: (() => void)[] = [];
  #lifeline: ChildProcess | undefined;
  #closed = false;

  constructor(options: ChildProcessesOptions = {}) {
    this.#recordDir = options.recordDir;
    this.#maxRunning = options.maxRunning ?? Number.POSITIVE_INFINITY;
    const setpriv = options.setpriv ?? (process.platform === 'linux' && existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : false);
    this.#setpriv = setpriv === false ? undefined : setpriv;
  }

  /** Processes alive now. */
  get running(): number {
    return this.#running.size;
  }

  /** Calls waiting for a place (all `maxRunning` taken). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Their pids (tests look for them in /proc). */
  get pids(): number[] {
    return [...this.#running.keys()];
  }

  /** Waits for a place among `maxRunning` (rejects when `signal` aborts first). */
  async reserve(signal: AbortSignal): Promise<ProcessSlot> {
    signal.throwIfAborted();
    if (this.#closed) throw new Error('the provider is shut down: no process is started');
    if (this.#taken < this.#maxRunning) this.#taken++;
    else {
      // A place is handed over by the process that frees it, never taken in passing by a later caller.
      await new Promise<void>((resolve, reject) => {
        const handOver = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          const index = this.#waiting.indexOf(handOver);
          if (index !== -1) this.#waiting.splice(index, 1);
          reject(signal.reason);
        };
        this.#waiting.push(handOver);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    let child: ChildProcess | undefined;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#taken--;
      else next();
    };
    if (this.#closed) {
      free();
      throw new Error('the provider is shut down: no process is started');
    }
    return {
      spawn: (spec) => {
        if (child !== undefined) throw new Error('one process per slot');
        child = this.#spawn(spec, free);
        return guarded(child);
      },
      release: () => {
        if (child === undefined) free();
        else if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) killGroup(child.pid);
      },
    };
  }

  #spawn(spec: SpawnSpec, free: () => void): ChildProcess {
    const [command, args] =
      this.#setpriv === undefined
        ? [spec.command, [...spec.args]]
        : [this.#setpriv, ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]];
    // A group of its own: killing the group kills whatever it started; the terminal's Ctrl-C does not reach it.
    const child = spawn(command, args, { cwd: spec.cwd, env: spec.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => spec.stderr?.(text));
    if (pid === undefined) {
      // Not started (ENOENT, EACCES): the 'error' event tells the SDK; the place is free at once.
      child.once('error', () => free());
      return child;
    }
    this.#running.set(pid, child);
    this.#record(pid, spec.command);
    this.#watch(pid);
    child.once('exit', () => {
      // The leader is gone; anything it started in its group goes with it.
      killGroup(pid);
      this.#running.delete(pid);
      this.#unwatch(pid);
      this.#forget(pid);
      free();
    });
    return child;
  }

  /** Kills every running process with its group (shutdown); further reservations are refused. */
  killAll(): void {
    this.#closed = true;
    for (const pid of this.#running.keys()) killGroup(pid);
    // Each waiter is handed a place, finds the provider closed, and hands it on.
    this.#waiting.shift()?.();
  }

  /** Resolves once every process has exited (after killAll, promptly). */
  async settled(): Promise<void> {
    await Promise.all(
      [...this.#running.values()].map(
        (child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve()))),
      ),
    );
    this.#lifeline?.stdin?.end();
  }

  /**
   * Kills the groups of processes recorded by a worker that is gone (a crash, `kill -9`, a power cut)
   * and clears their records. A record whose pid now belongs to another process (same pid, another
   * start time) is only cleared. Returns how many were still running.
   */
  reapRecorded(): number {
    const dir = this.#recordDir;
    if (dir === undefined || !existsSync(dir)) return 0;
    let reaped = 0;
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      let record: ProcessRecord;
      try {
        record = JSON.parse(readFileSync(path, 'utf8')) as ProcessRecord;
      } catch {
        rmSync(path, { force: true });
        continue;
      }
      const ownerAlive =
        record.ownerPid !== process.pid && alive(record.ownerPid) && startTicksOf(record.ownerPid) === record.ownerStartTicks;
      if (ownerAlive) continue; // another live process owns it
      const ticks = startTicksOf(record.pid);
      if (ticks !== undefined && ticks === record.startTicks) {
        killGroup(record.pid);
        reaped++;
      } else if (!alive(record.pid)) {
        // The leader is gone; its pid cannot be reused while its group has members, so what is left is ours.
        killGroup(record.pid);
      }
      rmSync(path, { force: true });
    }
    return reaped;
  }

  #record(pid: number, command: string): void {
    const dir = this.#recordDir;
    if (dir === undefined) return;
    const record: ProcessRecord = {
      pid,
      startTicks: startTicksOf(pid),
      ownerPid: process.pid,
      ownerStartTicks: startTicksOf(process.pid),
      command,
      startedAt: new Date().toISOString(),
    };
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${pid}.json`), `${JSON.stringify(record)}\n`);
    } catch {
      // Without a record only a crash that also kills the lifeline could leave it behind: go on.
    }
  }

  #forget(pid: number): void {
    if (this.#recordDir !== undefined) rmSync(join(this.#recordDir, `${pid}.json`), { force: true });
  }

  #watch(pid: number): void {
    if (this.#lifeline === undefined || this.#lifeline.exitCode !== null) {
      const lifeline = spawn('/bin/sh', ['-c', LIFELINE_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      lifeline.on('error', () => {});
      lifeline.stdin?.on('error', () => {});
      // It must not keep the worker's event loop alive, nor be reached by the terminal's signals.
      lifeline.unref();
      (lifeline.stdin as unknown as { unref?: () => void }).unref?.();
      this.#lifeline = lifeline;
      for (const running of this.#running.keys()) if (running !== pid) lifeline.stdin?.write(`+${running}\n`);
    }
    this.#lifeline.stdin?.write(`+${pid}\n`);
  }

  #unwatch(pid: number): void {
    if (this.#lifeline?.exitCode === null) this.#lifeline.stdin?.write(`-${pid}\n`);
  }
}

type Listener = Parameters<ChildProcess['on']>[1];

/** The SDK's view of a child: `kill` reaches its whole group. */
function guarded(child: ChildProcess): GuardedProcess {
  const view = {
    get stdin() {
      return child.stdin!;
    },
    get stdout() {
      return child.stdout!;
    },
    get killed() {
      return child.killed;
    },
    get exitCode() {
      return child.exitCode;
    },
    get signalCode() {
      return child.signalCode;
    },
    get pid() {
      return child.pid;
    },
    kill(signal: NodeJS.Signals) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
      killGroup(child.pid, signal);
      return true;
    },
    on(event: string, listener: Listener) {
      child.on(event, listener);
    },
    once(event: string, listener: Listener) {
      child.once(event, listener);
    },
    off(event: string, listener: Listener) {
      child.off(event, listener);
    },
  };
  return view as GuardedProcess;
}
