/**
 * One writer per log: in one process (a second store on the same file), and as real worker processes
 * started one after the other, at the same moment on a fresh directory, and after a kill -9.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStoreError, openSqliteStore } from '../../src/store/index.js';
import { killOnExit } from '../support/children.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function track(worker: WorkerProcess): WorkerProcess {
  started.push(worker.child);
  return worker;
}

/** `session-lifecycle serve` that is expected to stop on its own: its exit code and everything it printed. */
function serveUntilExit(dataDir: string, port: number): { child: ChildProcess; done: Promise<{ code: number | null; output: string }> } {
  const child = killOnExit(
    spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: { ...process.env, CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_WORKER_PORT: String(port), CLAUDE_MEM_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, output }))) };
}

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const refusalLine = /^session-lifecycle: another worker \(pid (\d+), port (\d+)\) owns .*session-events\.db: stop it first/;

describe('one writer per log', () => {
  it('refuses a second store on the same file with a typed error naming the owner, and lets readers in', () => {
    const path = join(tempDir(), 'session-events.db');
    const owner = openSqliteStore(path, { owner: { port: 41234 } });
    try {
      let refusal: unknown;
      try {
        openSqliteStore(path);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(EventStoreError);
      expect(refusal).toMatchObject({ code: 'locked', owner: { pid: process.pid, port: 41234 } });
      expect((refusal as Error).message).toBe(
        `another worker (pid ${process.pid}, port 41234) owns ${path}: stop it first, or give this one its own CLAUDE_MEM_DATA_DIR`,
      );
      const session = owner.openSession('abc', 'p', 1);
      owner.append(session.sessionDbId, { type: 'xstate.init', payload: { type: 'xstate.init' }, at: 1 });
      owner.close();
      const reader = openSqliteStore(path, { readOnly: true });
      expect(reader.readEvents(session.sessionDbId).map((event) => event.type)).toEqual(['xstate.init']);
      reader.close();
    } finally {
      owner.close();
    }
    // Released on close: the next owner gets it.
    openSqliteStore(path).close();
    expect(existsSync(`${path}.owner`)).toBe(false);
  });

  it('a second worker on a running worker’s directory exits non-zero at once, with one line, and touches nothing', async () => {
    const dataDir = tempDir();
    const first = track(await startWorkerProcess({ CLAUDE_MEM_DATA_DIR: dataDir }, await freePort()));
    const init = await first.call('POST', '/api/sessions/init', { body: { contentSessionId: 'a', project: 'p', prompt: 'hello' } });
    expect(init.status).toBe(200);
    const log = join(dataDir, 'session-events.db');
    await first.call('GET', '/api/health'); // let the commit land
    const before = digest(log);

    const second = serveUntilExit(dataDir, await freePort());
    const { code, output } = await second.done;
    expect(code).not.toBe(0);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    const [, pid, port] = refusalLine.exec(lines[0]!) ?? [];
    expect(Number(pid)).toBe(first.child.pid);
    expect(Number(port)).toBe(first.port);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    expect(digest(log)).toBe(before);
    expect((await first.call('GET', '/api/readiness')).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  it('of two workers started at the same moment on a fresh directory, exactly one runs; the other names it', {
    timeout: 120_000,
  }, async () => {
    const dataDir = join(tempDir(), 'fresh');
    const [portA, portB] = [await freePort(), await freePort()];
    const a = serveUntilExit(dataDir, portA);
    const b = serveUntilExit(dataDir, portB);
    const first = await Promise.race([a.done.then(() => 'a'), b.done.then(() => 'b')]);
    const loser = first === 'a' ? a : b;
    const winner = first === 'a' ? b : a;
    const { code, output } = await loser.done;
    expect(code).not.toBe(0);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^session-lifecycle: another worker \((pid \d+(, port \d+)?|starting up)\) owns /);
    expect(output).not.toMatch(/already exists|SqliteError/);
    // The winner runs on, with its schema whole.
    expect(winner.child.exitCode).toBeNull();
    const winnerPort = first === 'a' ? portB : portA;
    // Its readiness, or its exit, is what is waited for: two workers starting under tsx at once on a
    // loaded machine take seconds to compile and open their stores (more than 10 s was seen in CI).
    await waitFor(
      async () => {
        if (winner.child.exitCode !== null) throw new Error(`the winner exited (${winner.child.exitCode}): ${(await winner.done).output}`);
        return fetch(`http://127.0.0.1:${winnerPort}/api/readiness`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { what: 'the winner ready', timeoutMs: 100_000 },
    );
    const init = await fetch(`http://127.0.0.1:${winnerPort}/api/sessions/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentSessionId: 'x', project: 'p', prompt: 'hi' }),
    });
    expect(init.status).toBe(200);
    winner.child.kill('SIGTERM');
    expect((await winner.done).code).toBe(0);
  });

  it('a kill -9ed owner never blocks the next start, which says the last one did not stop cleanly', async () => {
    const dataDir = tempDir();
    const first = track(await startWorkerProcess({ CLAUDE_MEM_DATA_DIR: dataDir }, await freePort()));
    await first.call('POST', '/api/sessions/init', { body: { contentSessionId: 'a', project: 'p', prompt: 'hello' } });
    first.child.kill('SIGKILL');
    await first.exited;
    expect(JSON.parse(readFileSync(join(dataDir, 'session-events.db.owner'), 'utf8'))).toMatchObject({ pid: first.child.pid });

    const second = track(await startWorkerProcess({ CLAUDE_MEM_DATA_DIR: dataDir }, await freePort()));
    expect(second.lines.some((line) => line.includes('did not stop cleanly') && line.includes(`"pid":${first.child.pid}`))).toBe(true);
    expect(JSON.parse(readFileSync(join(dataDir, 'session-events.db.owner'), 'utf8'))).toMatchObject({
      pid: second.child.pid,
      port: second.port,
    });
    expect((await second.call('GET', '/api/sessions')).json.sessions).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(existsSync(join(dataDir, 'session-events.db.owner'))).toBe(false);
  });
});
