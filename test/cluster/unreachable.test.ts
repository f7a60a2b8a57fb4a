/**
 * A worker on the Restate engine whose cluster goes away and comes back: while restate-server is down,
 * readiness says so, commands are refused with 503 and Retry-After (never 500, never a 2xx that Restate
 * does not have), reads too; once it is back on the same data, the worker answers again without a
 * restart and everything acknowledged before is there.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killOnExit } from '../support/children.js';
import { freePort } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { http } from '../support/worker.js';
import { startRestate } from './support/restate-server.js';
import { type RestateTestWorker, startRestateWorker } from './support/worker.js';

const tempDir = useTempDir();
const warnings = (worker: RestateTestWorker) => worker.logs.filter((line) => line.level >= 40).map((line) => line.msg);

describe('a worker whose Restate cluster goes away', () => {
  let restate: Awaited<ReturnType<typeof startRestate>>;
  let worker: RestateTestWorker | undefined;

  beforeAll(async () => {
    restate = await startRestate();
    worker = await startRestateWorker({
      ingressUrl: restate.node().ingressUrl,
      adminUrl: restate.node().adminUrl,
      env: { CLAUDE_MEM_RESTATE_CALL_TIMEOUT_SECONDS: '1' },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await restate?.stop();
  });

  it('answers 503 with Retry-After while it is down, and carries on once it is back', async () => {
    const call = worker!.call;
    const contentSessionId = 'through-an-outage';
    const init = await call('POST', '/api/sessions/init', { body: { contentSessionId, project: 'p', prompt: 'start' } });
    expect(init.status).toBe(200);
    const { sessionDbId } = init.json;
    await waitFor(async () => (await call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle', {
      timeoutMs: 20_000,
      what: () => 'the first prompt processed',
    });

    const warned = warnings(worker!).length;
    await restate.node().kill();
    const refused = await call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name: 'Bash', tool_input: {}, tool_response: 'ok', cwd: '/', tool_use_id: 'during' },
    });
    expect(refused.status).toBe(503);
    expect(refused.json.error).toBe('session engine unavailable');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const read = await call('GET', `/api/sessions/${sessionDbId}`);
    expect(read.status).toBe(503);
    expect(read.headers['retry-after']).toBeDefined();
    // Still 200 (claude-mem 13.x's hooks block the user's prompt after three "not ready" in a row), saying why.
    const readiness = await call('GET', '/api/readiness');
    expect(readiness.status).toBe(200);
    expect(readiness.json.status).toBe('engine-unavailable');
    // Health stays 200 (claude-mem's hooks would start a worker of their own otherwise), but not "ok".
    const health = await call('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({ status: 'degraded', log: { writable: false } });
    expect(health.json.log.error).toContain(restate.node().ingressUrl);
    // Losing Restate is logged once, with why.
    expect(warnings(worker!).slice(warned)[0]).toMatch(/^Restate is out of reach: waiting for it/);
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('session_lifecycle_log_writable 0');

    await restate.restart();
    await waitFor(async () => (await call('GET', '/api/readiness')).json?.status === 'ready', {
      timeoutMs: 30_000,
      what: () => 'ready again',
    });
    // And so is getting it back.
    expect(
      worker!.logs.some((line) => line.msg === 'Restate answers again; hook calls are taken' && typeof line.downSeconds === 'number'),
    ).toBe(true);
    expect((await call('GET', '/api/health')).json.status).toBe('ok');
    const after = await call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name: 'Bash', tool_input: {}, tool_response: 'ok', cwd: '/', tool_use_id: 'after' },
    });
    expect(after.json).toEqual({ status: 'queued' });
    await waitFor(async () => (await call('GET', `/api/sessions/${sessionDbId}`)).json.counters?.processed === 2, {
      timeoutMs: 20_000,
      what: () => 'the item sent after the outage processed',
    });
  });
});

describe('a worker given a wrong ingress URL', () => {
  it('says what it is waiting for, keeps saying so, and its health says degraded', async () => {
    const port = await freePort();
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const child = killOnExit(
      spawn(process.execPath, ['--import', 'tsx', cli, 'serve', '--engine', 'restate', '--restate-ingress', nobody], {
        env: { ...process.env, CLAUDE_MEM_DATA_DIR: tempDir(), CLAUDE_MEM_WORKER_PORT: String(port), CLAUDE_MEM_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const lines: { level: number; msg: string; ingressUrl?: string; error?: string }[] = [];
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line));
    });
    try {
      await waitFor(() => lines.some((line) => line.msg === 'still waiting for Restate'), {
        timeoutMs: 30_000,
        what: () => `a reminder in the log:\n${lines.map((line) => line.msg).join('\n')}`,
      });
      expect(lines.find((line) => line.msg.startsWith('reaching Restate'))?.ingressUrl).toBe(nobody);
      const outOfReach = lines.find((line) => line.msg.startsWith('Restate is out of reach'));
      expect(outOfReach?.level).toBe(40);
      expect(outOfReach?.error).toContain(nobody);
      const readiness = await http(port, 'GET', '/api/readiness');
      expect(readiness.status).toBe(503);
      const health = await http(port, 'GET', '/api/health');
      expect(health.status).toBe(200);
      expect(health.json).toMatchObject({ status: 'degraded', initialized: false, engine: 'restate', log: { writable: false } });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
