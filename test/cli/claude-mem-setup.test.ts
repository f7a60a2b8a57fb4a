/**
 * `session-lifecycle install claude-mem` and `session-lifecycle doctor` on a home directory laid out as a
 * claude-mem user's: the registry's claude-mem 13.25.3 where Claude Code keeps plugins, the settings.json
 * claude-mem itself writes, and whatever serves the port its hooks call (nothing, this worker, or
 * claude-mem's own worker, played by a loopback server answering /api/health as claude-mem's does).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { hooksDefaultPort } from '../../src/claude-mem/index.js';
import { type CliIo, main } from '../../src/cli.js';
import { claudeMemDefaultPort } from '../../src/config/index.js';
import { killOnExit } from '../support/children.js';
import { type ClaudeCodeHome, installClaudeMem, runClaudeMemCommand } from '../support/claude-mem-13.js';
import { claudeMemDatabase } from '../support/claude-mem-db.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();
let worker: WorkerProcess | undefined;
let fakeClaudeMemWorker: Server | undefined;
afterEach(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  worker = undefined;
  await new Promise((resolve) => (fakeClaudeMemWorker ? fakeClaudeMemWorker.close(resolve) : resolve(undefined)));
  fakeClaudeMemWorker = undefined;
});

async function cli(home: string, ...argv: string[]): Promise<{ code: number; lines: string[] }> {
  const out: string[] = [];
  const io: CliIo = {
    out: (text) => out.push(text),
    err: (text) => out.push(text),
    env: { HOME: home },
    stopRequested: () => new Promise(() => {}),
  };
  const code = await main(argv, io);
  return { code, lines: out.join('\n').split('\n') };
}

/** A claude-mem 13 user: the plugin installed, and the settings.json claude-mem wrote, on a free port of theirs. */
async function claudeMemUser(): Promise<ClaudeCodeHome & { port: number; settingsFile: string }> {
  const claude = await installClaudeMem(tempDir());
  mkdirSync(join(claude.home, 'project'));
  expect((await runClaudeMemCommand(claude, 'status', join(claude.home, 'project'))).code).toBe(0);
  const settingsFile = join(claude.dataDir, 'settings.json');
  const port = await freePort();
  const written = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, string>;
  writeFileSync(settingsFile, JSON.stringify({ ...written, CLAUDE_MEM_WORKER_PORT: String(port) }, null, 2));
  return { ...claude, port, settingsFile };
}

const line = (lines: readonly string[], pattern: RegExp) => lines.find((text) => pattern.test(text));

describe('install claude-mem and doctor', () => {
  it('switch a claude-mem 13 user: the port already agreed, a stale worker.pid removed, the next step said; a second run changes nothing', async () => {
    const user = await claudeMemUser();
    writeFileSync(
      join(user.dataDir, 'worker.pid'),
      JSON.stringify({ pid: 2 ** 22 + 12_345, port: user.port, startedAt: '2026-12-01T09:00:00.000Z' }),
    );
    // What claude-mem remembers: one session of my-app, two observations and a summary.
    claudeMemDatabase(join(user.dataDir, 'claude-mem.db'));
    const settingsBefore = readFileSync(user.settingsFile, 'utf8');

    const first = await cli(user.home, 'install', 'claude-mem');
    expect(first.code).toBe(0);
    const counts = line(first.lines, /^ok +settings: /)?.match(
      /: (\d+) keys, (\d+) read by this worker, (\d+) claude-mem's own \(ignored\); the worker starts with them$/,
    );
    expect(counts).toBeTruthy();
    const [total, ours, theirs] = counts!.slice(1).map(Number);
    expect(total).toBeGreaterThan(100);
    expect(ours! + theirs!).toBe(total);
    expect(ours).toBeGreaterThanOrEqual(8);
    expect(line(first.lines, new RegExp(`^ok +settings: CLAUDE_MEM_WORKER_PORT=${user.port} already in`))).toBeDefined();
    expect(line(first.lines, /^ok +claude-mem's worker: removed .*worker\.pid \(pid 4206649 is not running\)/)).toBeDefined();
    expect(
      line(
        first.lines,
        new RegExp(
          `^ok +hooks: claude-mem 13\\.25\\.3's hooks \\(.*/plugins/cache/thedotmack/claude-mem/13\\.25\\.3\\) call 127\\.0\\.0\\.1:${user.port}`,
        ),
      ),
    ).toBeDefined();
    expect(
      line(first.lines, /^ok +memories: Imported 2 observations and 1 summaries from .*claude-mem\.db into .*session-events\.db\.$/),
    ).toBeDefined();
    expect(
      line(
        first.lines,
        /^ok +next: start the worker, `npm start` in its repository or `npx session-lifecycle serve` where it is installed/,
      ),
    ).toBeDefined();
    expect(() => readFileSync(join(user.dataDir, 'worker.pid'))).toThrow();
    expect(readFileSync(user.settingsFile, 'utf8')).toBe(settingsBefore);

    // Again: nothing changes, no memory is imported twice.
    const again = await cli(user.home, 'install', 'claude-mem');
    expect(again.code).toBe(0);
    expect(line(again.lines, /removed/)).toBeUndefined();
    expect(line(again.lines, /^ok +memories: Imported 0 observations and 0 summaries .* \(3 imported before, skipped\)\.$/)).toBeDefined();

    // The worker it said to start, then the same command again: nothing to change, and it says it is done.
    worker = await startWorkerProcess({ HOME: user.home, CLAUDE_MEM_PROVIDER: 'local' }, user.port, { portFromSettings: true });
    const second = await cli(user.home, 'install', 'claude-mem');
    expect(second.code).toBe(0);
    expect(line(second.lines, /removed/)).toBeUndefined();
    expect(line(second.lines, /^note +memories: not imported while the worker runs/)).toBeDefined();
    // The imported memories are what the next session of my-app starts with.
    expect((await worker.call('GET', '/api/context/inject?projects=my-app')).text).toContain('Fixed the login race');
    expect(
      line(second.lines, new RegExp(`^ok +port ${user.port}: served by session-lifecycle .* \\(pid \\d+\\): the hooks reach this worker`)),
    ).toBeDefined();
    expect(
      line(second.lines, new RegExp(`^ok +done: claude-mem's hooks reach session-lifecycle .* at 127\\.0\\.0\\.1:${user.port}`)),
    ).toBeDefined();
    expect(readFileSync(user.settingsFile, 'utf8')).toBe(settingsBefore);

    const doctor = await cli(user.home, 'doctor');
    expect(doctor.code).toBe(0);
    expect(doctor.lines.every((text) => /^(ok|note) /.test(text))).toBe(true);
  }, 60_000);

  it('name claude-mem’s own worker on the port, with the command that stops it, and exit 1', async () => {
    const user = await claudeMemUser();
    // claude-mem's worker as its /api/health answers (version, workerPath, pid, …) and as its worker.pid records it.
    fakeClaudeMemWorker = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(
        request.url === '/api/health'
          ? JSON.stringify({
              status: 'ok',
              version: '13.25.3',
              workerPath: join(user.pluginRoot, 'scripts', 'worker-service.cjs'),
              uptime: 12,
              pid: process.pid,
            })
          : '{}',
      );
    });
    await new Promise<void>((resolve) => fakeClaudeMemWorker!.listen(user.port, '127.0.0.1', resolve));
    writeFileSync(
      join(user.dataDir, 'worker.pid'),
      JSON.stringify({ pid: process.pid, port: user.port, startedAt: new Date().toISOString() }),
    );

    const doctor = await cli(user.home, 'doctor');
    expect(doctor.code).toBe(1);
    const stop = `node "${join(user.pluginRoot, 'scripts', 'bun-runner.js')}" "${join(user.pluginRoot, 'scripts', 'worker-service.cjs')}" stop`;
    expect(doctor.lines).toContain(
      `problem port ${user.port}: served by claude-mem's own worker 13.25.3 (pid ${process.pid}), not by this worker: stop it with \`${stop}\`, then start this worker`,
    );
    const install = await cli(user.home, 'install', 'claude-mem');
    expect(install.code).toBe(1);
    expect(line(install.lines, /^problem port .*claude-mem's own worker/)).toBeDefined();
    expect(line(install.lines, /^problem not done yet: act on the problems above, then run this again/)).toBeDefined();
    // Its pid file is claude-mem's to keep while it runs.
    expect(JSON.parse(readFileSync(join(user.dataDir, 'worker.pid'), 'utf8')).pid).toBe(process.pid);
  }, 60_000);

  it('a worker started on a port claude-mem’s own worker holds says so, with the command that stops it', async () => {
    const user = await claudeMemUser();
    fakeClaudeMemWorker = createServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ status: 'ok', version: '13.25.3', workerPath: '/x/worker-service.cjs', pid: 4321 }));
    });
    await new Promise<void>((resolve) => fakeClaudeMemWorker!.listen(user.port, '127.0.0.1', resolve));
    // `serve` to its end (readiness would answer 200 here: claude-mem's worker is ready).
    const child = killOnExit(
      spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../src/cli.ts', import.meta.url)), 'serve'], {
        env: { ...process.env, HOME: user.home, CLAUDE_MEM_PROVIDER: 'local', CLAUDE_MEM_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    const stop = `node "${join(user.pluginRoot, 'scripts', 'bun-runner.js')}" "${join(user.pluginRoot, 'scripts', 'worker-service.cjs')}" stop`;
    expect(output.trim()).toBe(
      `session-lifecycle: port ${user.port} on 127.0.0.1 is served by claude-mem's own worker 13.25.3 (pid 4321): stop it with \`${stop}\` (session-lifecycle doctor says more), or choose another port with CLAUDE_MEM_WORKER_PORT or --port`,
    );
  }, 60_000);

  it('a worker started with a misspelt key in settings.json or the environment warns about each, once', async () => {
    const user = await claudeMemUser();
    const written = JSON.parse(readFileSync(user.settingsFile, 'utf8')) as Record<string, string>;
    writeFileSync(user.settingsFile, JSON.stringify({ ...written, CLAUDE_MEM_SESION_TTL_MINUTES: '5' }, null, 2));
    worker = await startWorkerProcess({ HOME: user.home, CLAUDE_MEM_PROVIDER: 'local', CLAUDE_MEM_MAX_CONCURENT_AGENTS: '4' }, user.port, {
      portFromSettings: true,
    });
    const warnings = worker.lines.map((text) => JSON.parse(text) as { level: number; msg: string }).filter((entry) => entry.level === 40);
    expect(warnings.map((entry) => entry.msg).filter((msg) => msg.includes('did you mean'))).toEqual([
      `CLAUDE_MEM_SESION_TTL_MINUTES (in ${user.settingsFile}) is not a setting of this worker and is ignored: did you mean CLAUDE_MEM_SESSION_TTL_MINUTES?`,
      'CLAUDE_MEM_MAX_CONCURENT_AGENTS (in the environment) is not a setting of this worker and is ignored: did you mean CLAUDE_MEM_MAX_CONCURRENT_AGENTS?',
    ]);
  }, 60_000);

  it('report a setting the worker would refuse and a misspelt key; install changes nothing then', async () => {
    const user = await claudeMemUser();
    const written = JSON.parse(readFileSync(user.settingsFile, 'utf8')) as Record<string, string>;
    writeFileSync(user.settingsFile, JSON.stringify({ ...written, CLAUDE_MEM_SESION_TTL_MINUTES: '5' }, null, 2));
    const doctor = await cli(user.home, 'doctor');
    expect(doctor.code).toBe(0);
    expect(doctor.lines).toContain(
      `note    settings: CLAUDE_MEM_SESION_TTL_MINUTES (in ${user.settingsFile}) is not a setting of this worker and is ignored: did you mean CLAUDE_MEM_SESSION_TTL_MINUTES?`,
    );

    writeFileSync(user.settingsFile, JSON.stringify({ ...written, CLAUDE_MEM_SESSION_TTL_MINUTES: 'an hour' }, null, 2));
    const before = readFileSync(user.settingsFile, 'utf8');
    const broken = await cli(user.home, 'doctor');
    expect(broken.code).toBe(1);
    expect(
      line(broken.lines, /^problem settings: CLAUDE_MEM_SESSION_TTL_MINUTES="an hour" \(from .*settings\.json\) is not allowed/),
    ).toBeDefined();
    const install = await cli(user.home, 'install', 'claude-mem');
    expect(install.code).toBe(1);
    expect(install.lines.at(-1)).toBe('problem nothing changed: fix the setting above, then run this again');
    expect(readFileSync(user.settingsFile, 'utf8')).toBe(before);
  }, 60_000);

  it('pin 37777 for claude-mem 8.5.x hooks, whose default that is, where this worker’s default differs', async () => {
    // claude-mem 8.5.x installed from its marketplace, no settings.json yet.
    const home = tempDir();
    const marketplace = join(home, '.claude', 'plugins', 'marketplaces', 'thedotmack');
    mkdirSync(join(marketplace, 'plugin', 'scripts'), { recursive: true });
    writeFileSync(join(marketplace, 'package.json'), JSON.stringify({ name: 'claude-mem', version: '8.5.7' }));
    expect(hooksDefaultPort('8.5.7', 0)).toBe(37777);
    expect(hooksDefaultPort('12.3.5', 1000)).toBe(37700);
    expect(hooksDefaultPort('13.25.3', 501)).toBe(37701);
    expect(hooksDefaultPort(undefined, 42)).toBe(37742);

    const doctor = await cli(home, 'doctor');
    expect(
      line(doctor.lines, /^ok +hooks: claude-mem 8\.5\.7's hooks \(.*marketplaces\/thedotmack\/plugin\) call 127\.0\.0\.1:37777/),
    ).toBeDefined();
    const ours = claudeMemDefaultPort(process.getuid?.());
    if (ours !== 37777) {
      expect(doctor.code).toBe(1);
      expect(doctor.lines).toContain(
        `problem port: this worker listens on ${ours} but the hooks call 37777: set CLAUDE_MEM_WORKER_PORT=37777 in ${join(home, '.claude-mem', 'settings.json')} (both read it), or run session-lifecycle install claude-mem`,
      );
    }
    const install = await cli(home, 'install', 'claude-mem');
    expect(line(install.lines, /^ok +settings: CLAUDE_MEM_WORKER_PORT=37777 written to/)).toBeDefined();
    expect(JSON.parse(readFileSync(join(home, '.claude-mem', 'settings.json'), 'utf8'))).toEqual({ CLAUDE_MEM_WORKER_PORT: '37777' });
    expect(line((await cli(home, 'doctor')).lines, /^problem port: this worker listens/)).toBeUndefined();
  }, 60_000);

  it('refuses to install anything but claude-mem', async () => {
    const result = await cli(tempDir(), 'install', 'claude-memory');
    expect(result.code).toBe(1);
    expect(result.lines).toEqual(['session-lifecycle: cannot install "claude-memory": the one thing to switch from is claude-mem']);
  });
});
