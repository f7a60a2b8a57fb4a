/**
 * A worker on the Restate engine whose cluster goes away and comes back: while restate-server is down,
 * readiness says so, commands are refused with 503 and Retry-After (never 500, never a 2xx that Restate
 * does not have), reads too; once it is back on the same data, the worker answers again without a
 * restart and everything acknowledged before is there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRestate, until } from './support/restate-server.js';
import { type RestateTestWorker, startRestateWorker } from './support/worker.js';

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
    await until(
      async () => (await call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle',
      20_000,
      () => 'the first prompt processed',
    );

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
    expect((await call('GET', '/api/health')).json.log).toMatchObject({ writable: false });
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('session_lifecycle_log_writable 0');

    await restate.restart();
    await until(
      async () => (await call('GET', '/api/readiness')).json?.status === 'ready',
      30_000,
      () => 'ready again',
    );
    const after = await call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name: 'Bash', tool_input: {}, tool_response: 'ok', cwd: '/', tool_use_id: 'after' },
    });
    expect(after.json).toEqual({ status: 'queued' });
    await until(
      async () => (await call('GET', `/api/sessions/${sessionDbId}`)).json.counters?.processed === 2,
      20_000,
      () => 'the item sent after the outage processed',
    );
  });
});
