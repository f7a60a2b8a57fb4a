/**
 * HTTP observations/s and latency with autocannon: a server in its own process, autocannon in this
 * one, the same requests for both contenders (claude-mem's observation body, about 5 KB).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { killOnExit } from '../../test/support/children.js';

export interface HttpResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer(command: string, args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = killOnExit(spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }));
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/api/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${args.join(' ')} was not ready in 20 s`);
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Content sessions the observations are spread over (round robin). */
export const SESSIONS = 200;

/** The prompt that makes each content session public, so that its observations are queued. */
export async function initSessions(port: number): Promise<void> {
  for (let s = 0; s < SESSIONS; s++) {
    const answer = await fetch(`http://127.0.0.1:${port}/api/sessions/init`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentSessionId: `http-${s}`, project: 'bench', prompt: `Fix bug number ${s} in the login flow` }),
    });
    if (!answer.ok) throw new Error(`init failed: ${answer.status} ${await answer.text()}`);
  }
}

function observationBody(n: number): string {
  return JSON.stringify({
    contentSessionId: `http-${n % SESSIONS}`,
    tool_name: 'Edit',
    tool_input: { file_path: `/repo/src/module-${n % 50}.ts`, old_string: 'const a = 1;', new_string: 'const a = 2;' },
    tool_response: { filePath: `/repo/src/module-${n % 50}.ts`, content: `line ${n}\n`.padEnd(4_500, 'x') },
    cwd: '/repo',
  });
}

export async function loadTest(port: number, seconds: number, connections: number): Promise<HttpResult> {
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/api/sessions/observations',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: observationBody(n++) }),
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
