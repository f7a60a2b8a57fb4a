import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildProcesses } from '../../src/agents/index.js';
import { killOnExit } from '../support/children.js';
import { eventually, gone, groupMembers, isRunning } from '../support/pids.js';
import { useTempDir } from '../support/tmp.js';

const owner = fileURLToPath(new URL('../support/process-owner.ts', import.meta.url));
const tempDir = useTempDir();
let pool: ChildProcesses | undefined;
afterEach(async () => {
  pool?.killAll();
  await pool?.settled();
  pool = undefined;
});

/** A shell that starts a grandchild and waits: a process that started something. */
const PARENT_OF_ONE = 'sleep 300 & wait';
const exited = (child: { once(event: 'exit', listener: () => void): void; exitCode: number | null }) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

describe('ChildProcesses', () => {
  it('kills a process with everything it started when its slot is released, and forgets its record', async () => {
    pool = new ChildProcesses({ recordDir: join(tempDir(), 'agent-processes') });
    const slot = await pool.reserve(new AbortController().signal);
    const child = slot.spawn({ command: '/bin/sh', args: ['-c', PARENT_OF_ONE], env: process.env });
    const pid = child.pid!;
    const members = await eventually(() => (groupMembers(pid).length === 2 ? groupMembers(pid) : undefined), 5_000, 'the grandchild');
    expect(readdirSync(join(tempDir(), 'agent-processes'))).toEqual([`${pid}.json`]);
    slot.release();
    await gone(members);
    await eventually(() => (pool!.running === 0 ? true : undefined));
    expect(readdirSync(join(tempDir(), 'agent-processes'))).toEqual([]);
  });

  it('kills the whole group when the leader exits by itself, leaving nothing it started', async () => {
    pool = new ChildProcesses();
    const slot = await pool.reserve(new AbortController().signal);
    const child = slot.spawn({ command: '/bin/sh', args: ['-c', 'sleep 300 & echo started'], env: process.env });
    const pid = child.pid!;
    await exited(child);
    await gone(groupMembers(pid));
    expect(groupMembers(pid)).toEqual([]);
  });

  it('a kill from the SDK (SIGTERM) reaches the whole group', async () => {
    pool = new ChildProcesses();
    const slot = await pool.reserve(new AbortController().signal);
    const child = slot.spawn({ command: '/bin/sh', args: ['-c', PARENT_OF_ONE], env: process.env });
    const members = await eventually(() => (groupMembers(child.pid!).length === 2 ? groupMembers(child.pid!) : undefined));
    expect(child.kill('SIGTERM')).toBe(true);
    await gone(members);
  });

  it('holds at most maxRunning processes: the next waits until one has exited, and an aborted wait gives up', async () => {
    pool = new ChildProcesses({ maxRunning: 1 });
    const first = await pool.reserve(new AbortController().signal);
    const child = first.spawn({ command: '/bin/sh', args: ['-c', 'sleep 300'], env: process.env });
    let secondReserved = false;
    const second = pool.reserve(new AbortController().signal).then((slot) => {
      secondReserved = true;
      return slot;
    });
    const abandoned = new AbortController();
    const third = pool.reserve(abandoned.signal);
    abandoned.abort(new Error('caller went away'));
    await expect(third).rejects.toThrow('caller went away');
    // The second still waits for the place (only its release hands it on); the abandoned third left the line.
    expect(pool.waiting).toBe(1);
    expect(secondReserved).toBe(false);
    first.release();
    const slot = await second;
    // The place came back only once the first process had exited.
    expect(isRunning(child.pid!)).toBe(false);
    expect(pool.running).toBe(0);
    slot.release();
  });

  it('after killAll, reservations are refused and processes are gone', async () => {
    pool = new ChildProcesses({ maxRunning: 1 });
    const slot = await pool.reserve(new AbortController().signal);
    const child = slot.spawn({ command: '/bin/sh', args: ['-c', PARENT_OF_ONE], env: process.env });
    const waiting = pool.reserve(new AbortController().signal);
    const members = await eventually(() => (groupMembers(child.pid!).length === 2 ? groupMembers(child.pid!) : undefined));
    pool.killAll();
    await expect(waiting).rejects.toThrow('shut down');
    await expect(pool.reserve(new AbortController().signal)).rejects.toThrow('shut down');
    await gone(members);
  });

  it('a command that cannot be started frees its place and reports the error', async () => {
    pool = new ChildProcesses({ maxRunning: 1 });
    const slot = await pool.reserve(new AbortController().signal);
    const child = slot.spawn({ command: '/nonexistent/claude', args: [], env: process.env });
    // Without setpriv the spawn itself fails ('error'); through setpriv, setpriv exits with 127 ('exit').
    const outcome = await new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(error.message));
      child.once('exit', (code) => resolve(`exit ${code}`));
    });
    expect(outcome).toMatch(/ENOENT|exit 127/);
    // The place is free: the next reservation does not wait for one.
    const next = pool.reserve(new AbortController().signal);
    expect(pool.waiting).toBe(0);
    (await next).release();
  });

  it('when its owner is killed with SIGKILL, the process and what it started are gone within 2 s', async () => {
    const recordDir = join(tempDir(), 'agent-processes');
    const child = killOnExit(
      spawn(process.execPath, ['--import', 'tsx', owner, 'shell', recordDir, PARENT_OF_ONE], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const line = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    const { pid } = JSON.parse(line) as { pid: number };
    const members = await eventually(() => (groupMembers(pid).length === 2 ? groupMembers(pid) : undefined), 5_000, 'the grandchild');
    expect(existsSync(join(recordDir, `${pid}.json`))).toBe(true);
    child.kill('SIGKILL');
    const ms = await gone(members, 2_000);
    expect(ms).toBeLessThan(2_000);
    // The record stays (no one was left to clear it); the next owner's start clears it.
    const next = new ChildProcesses({ recordDir });
    expect(next.reapRecorded()).toBe(0);
    expect(readdirSync(recordDir)).toEqual([]);
  });

  it('a start reaps the groups a crashed owner recorded, and spares a pid now used by another process', async () => {
    const recordDir = join(tempDir(), 'agent-processes');
    // A survivor of a crash that took the lifeline too: a group leader with a child, recorded, nobody watching.
    const survivor = killOnExit(spawn('/bin/sh', ['-c', PARENT_OF_ONE], { detached: true, stdio: 'ignore' }));
    const stranger = killOnExit(spawn('/bin/sh', ['-c', 'sleep 300'], { detached: true, stdio: 'ignore' }));
    const members = await eventually(() => (groupMembers(survivor.pid!).length === 2 ? groupMembers(survivor.pid!) : undefined));
    const ticks = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
    const record = (pid: number, startTicks: string) =>
      writeFileSync(
        join(recordDir, `${pid}.json`),
        JSON.stringify({ pid, startTicks, ownerPid: 999_999_999, ownerStartTicks: '1', command: 'claude', startedAt: '' }),
      );
    pool = new ChildProcesses({ recordDir });
    await import('node:fs').then(({ mkdirSync }) => mkdirSync(recordDir, { recursive: true }));
    record(survivor.pid!, ticks(survivor.pid!));
    record(stranger.pid!, '12345'); // the pid was reused: another start time
    expect(pool.reapRecorded()).toBe(1);
    await gone(members);
    expect(isRunning(stranger.pid!)).toBe(true);
    expect(readdirSync(recordDir)).toEqual([]);
    stranger.kill('SIGKILL');
  });
});
