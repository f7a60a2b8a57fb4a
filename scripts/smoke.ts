/**
 * `npm run smoke`: the README's `npm start`, for real. Builds, runs `node dist/src/cli.js serve` (what
 * `npm start` runs) on a spare port with a throw-away data directory, checks that it answers a hook and
 * serves the dashboard its ready line names, stops it with SIGTERM and expects exit code 0. CI runs it after the tests.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '../test/support/children.js';

const root = new URL('..', import.meta.url).pathname;
const fail = (message: string): never => {
  console.error(`smoke: ${message}`);
  process.exit(1);
};

execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address() as { port: number };
    probe.close(() => resolve(free));
  });
});
const dataDir = mkdtempSync(join(tmpdir(), 'smoke-'));
const worker = killOnExit(
  spawn(process.execPath, [join(root, 'dist/src/cli.js'), 'serve'], {
    env: { ...process.env, CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_WORKER_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
let output = '';
worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
const base = `http://127.0.0.1:${port}`;

try {
  let ready = false;
  for (let i = 0; i < 200 && !ready; i++) {
    ready = await fetch(`${base}/api/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!ready) fail(`not ready after 10 s:\n${output}`);
  const init = await fetch(`${base}/api/sessions/init`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contentSessionId: 'smoke', project: 'smoke', prompt: 'hello' }),
  }).then((r) => r.json() as Promise<{ sessionDbId?: number; skipped?: boolean }>);
  if (init.sessionDbId !== 1 || init.skipped !== false) fail(`unexpected init answer ${JSON.stringify(init)}`);
  for (let i = 0; i < 40 && !output.includes(`dashboard at ${base}/`); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!output.includes(`dashboard at ${base}/`)) fail(`the ready line does not print the dashboard's address:\n${output}`);
  const page = await fetch(`${base}/`);
  if (!page.ok || !page.headers.get('content-type')?.startsWith('text/html'))
    fail(`the dashboard answered ${page.status} ${page.headers.get('content-type')}`);
  const script = /\/dashboard\/assets\/app-[0-9a-f]+\.js/.exec(await page.text())?.[0];
  if (script === undefined || !(await fetch(`${base}${script}`)).ok) fail(`the dashboard's script is not served (${script})`);
  worker.kill('SIGTERM');
  const code = await exited;
  if (code !== 0) fail(`exit code ${code} after SIGTERM:\n${output}`);
  if (!output.includes('worker stopped')) fail(`no orderly stop in the log:\n${output}`);
  console.log(`smoke: npm start served ${base} and its dashboard, answered a hook, stopped cleanly`);
} finally {
  worker.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
