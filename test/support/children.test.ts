import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { until } from '../cluster/support/restate-server.js';

const children = fileURLToPath(new URL('./children.ts', import.meta.url));

/** A test process that starts a long-running child, registers it and then ends as `how` says. */
function testProcess(how: 'exit' | 'throw' | 'SIGTERM') {
  const script = `
    import { spawn } from 'node:child_process';
    const { killOnExit } = await import(${JSON.stringify(children)});
    const child = killOnExit(spawn('sleep', ['60'], { stdio: 'ignore' }));
    console.log(child.pid);
    ${how === 'exit' ? 'process.exit(0);' : how === 'throw' ? "setTimeout(() => { throw new Error('uncaught'); }, 10);" : 'setInterval(() => {}, 1000);'}
  `;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  for (const how of ['exit', 'throw', 'SIGTERM'] as const) {
    it(`are killed by pid when the test process ends (${how})`, async () => {
      const parent = testProcess(how);
      const exited = new Promise((resolve) => parent.once('exit', resolve));
      let out = '';
      parent.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await until(
        () => /^\d+\n/.test(out),
        10_000,
        () => `the child's pid printed (${out})`,
      );
      const pid = Number(out.trim());
      expect(alive(pid)).toBe(true);
      if (how === 'SIGTERM') parent.kill('SIGTERM');
      await exited;
      await until(
        () => !alive(pid),
        5_000,
        () => `child ${pid} gone`,
      );
    });
  }
});
