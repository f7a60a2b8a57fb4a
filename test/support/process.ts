import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './children.js';
import { waitFor } from './wait.js';
import { http } from './worker.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every line it logged (pino JSON lines). */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  call: (method: string, path: string, options?: Parameters<typeof http>[3]) => ReturnType<typeof http>;
}

/**
 * `session-lifecycle serve` as its own process, as `npm start` runs it; resolves once it is ready on
 * `port`. With `portFromSettings`, the port is not passed: the worker must find it in its settings.
 */
export async function startWorkerProcess(
  env: Record<string, string>,
  port: number,
  options: { readonly portFromSettings?: boolean } = {},
): Promise<WorkerProcess> {
  const child = killOnExit(
    spawn(process.execPath, ['--import', 'tsx', cli, 'serve'], {
      env: {
        ...process.env,
        ...(options.portFromSettings ? {} : { CLAUDE_MEM_WORKER_PORT: String(port) }),
        CLAUDE_MEM_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const lines: string[] = [];
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const call = (method: string, path: string, options?: Parameters<typeof http>[3]) => http(port, method, path, options);
  const output = (recheck: () => void) => {
    child.stdout!.on('data', recheck);
    child.once('exit', recheck);
    return () => {
      child.stdout!.off('data', recheck);
      child.off('exit', recheck);
    };
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited early:\n${lines.join('\n')}`);
        return call('GET', '/api/readiness').then(
          (answer) => answer.status === 200,
          () => false, // not listening yet
        );
      },
      { what: () => `the worker ready:\n${lines.join('\n')}`, timeoutMs: 20_000, on: [output], everyMs: 50 },
    );
  } catch (error) {
    // Never handed to the caller, so nobody else would stop it.
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  // Readiness can answer before the start's last log lines have come through the pipe: wait for the ready
  // line, when the log level lets it through.
  const level = (env.CLAUDE_MEM_LOG_LEVEL ?? 'info').toLowerCase();
  if (['info', 'debug', 'trace'].includes(level)) {
    await waitFor(() => lines.some((line) => line.includes('worker ready')) || child.exitCode !== null, {
      what: 'the worker ready line',
      timeoutMs: 20_000,
      on: [output],
    }).catch(() => {});
  }
  return { child, port, lines, exited, call };
}
