import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from './wait.js';

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, …]; undefined when there is no such process. */
function statOf(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running process (a zombie, dead and waiting to be reaped, is not). */
export function isRunning(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat[0] !== 'Z' && stat[0] !== 'X';
}

/** The running members of process group `pgid`, read from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = statOf(Number(name));
    if (stat !== undefined && stat[0] !== 'Z' && Number(stat[2]) === pgid) members.push(Number(name));
  }
  return members;
}

/** Running processes whose command line contains `text` (children of this test run: callers filter further). */
export function processesMatching(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text) && isRunning(Number(name))) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Resolves with the ms it took once none of `pids` runs; rejects, naming the survivors, after `withinMs`. */
export async function gone(pids: readonly number[], withinMs = 2_000): Promise<number> {
  const started = Date.now();
  await waitFor(() => pids.every((pid) => !isRunning(pid)), {
    what: () => `still running after ${withinMs} ms: ${pids.filter(isRunning).join(', ')}`,
    timeoutMs: withinMs,
  });
  return Date.now() - started;
}

/** Resolves with the value once `probe` returns one (not undefined); rejects after `withinMs`. */
export async function eventually<T>(probe: () => T | undefined, withinMs = 10_000, what = 'the condition'): Promise<T> {
  const found = await waitFor(
    () => {
      const value = probe();
      return value === undefined ? undefined : { value };
    },
    { what, timeoutMs: withinMs },
  );
  return found.value;
}
