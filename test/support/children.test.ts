import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

const children = fileURLToPath(new URL('./children.ts', import.meta.url));

type Ending = 'exit' | 'throw' | 'SIGTERM' | 'SIGINT' | 'SIGHUP' | 'SIGKILL' | 'its parent is killed';

/** A test process that starts a long-running child, registers it and then ends as `how` says. */
function testProcess(how: Ending) {
  const script = `
    import { spawn } from 'node:child_process';
    const { killOnExit } = await import(${JSON.stringify(children)});
    const child = killOnExit(spawn('sleep', ['60'], { stdio: 'ignore' }));
    console.log(child.pid);
    ${how === 'exit' ? 'process.exit(0);' : how === 'throw' ? "setTimeout(() => { throw new Error('uncaught'); }, 10);" : 'setInterval(() => {}, 1000);'}
  `;
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
  if (how !== 'its parent is killed') return spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // As `npm run` starts a script: under a shell (`; true` keeps the shell from exec'ing node).
  const quoted = node.map((arg) => `'${arg.replaceAll("'", `'"'"'`)}'`).join(' ');
  return spawn('sh', ['-c', `${quoted}; true`], { stdio: ['ignore', 'pipe', 'pipe'] });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('processes started by tests', () => {
  for (const how of ['exit', 'throw', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL', 'its parent is killed'] as const) {
    it(`are killed by pid when the test process ends (${how})`, async () => {
      const parent = testProcess(how);
      const exited = new Promise((resolve) => parent.once('exit', resolve));
      let out = '';
      parent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => /^\d+\n/.test(out), { timeoutMs: 10_000, what: () => `the child's pid printed (${out})` });
      const pid = Number(out.trim());
      expect(alive(pid)).toBe(true);
      // SIGKILL runs no handler in the test process: its watchdog does the killing.
      if (how.startsWith('SIG')) parent.kill(how as NodeJS.Signals);
      if (how === 'its parent is killed') parent.kill('SIGKILL');
      await exited;
      await waitFor(() => !alive(pid), { timeoutMs: 5_000, what: () => `child ${pid} gone` });
    });
  }
});
