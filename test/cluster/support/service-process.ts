import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from '../../support/children.js';
import { waitFor } from '../../support/wait.js';

const cli = fileURLToPath(new URL('../../../src/cli.ts', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly output: string[];
  kill(): Promise<void>;
}

/**
 * `session-lifecycle restate-service` as its own process (as an operator runs it), configured by CLAUDE_MEM_* variables,
 * on `port`; resolves once it serves. Its settings.json lives in a temp data dir, removed on kill.
 */
export async function startServiceProcess(port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'session-service-'));
  const child = killOnExit(
    spawn(process.execPath, ['--import', 'tsx', cli, 'restate-service'], {
      env: {
        ...process.env,
        CLAUDE_MEM_DATA_DIR: dataDir,
        CLAUDE_MEM_RESTATE_SERVICE_PORT: String(port),
        CLAUDE_MEM_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`service process exited early:\n${output.join('')}`);
        return output.join('').includes('Session services on');
      },
      { timeoutMs: 20_000, what: () => `service process listening\n${output.join('')}` },
    );
  } catch (error) {
    await kill();
    throw error;
  }
  return { child, pid, port, url: `http://127.0.0.1:${port}`, output, kill };
}
