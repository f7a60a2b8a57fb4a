import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startWorker } from '../../src/worker/index.js';
import { controllableAgent } from '../support/agents.js';
import { useTempDir } from '../support/tmp.js';
import { waitForEngine } from '../support/wait.js';
import { http, startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

const session = { contentSessionId: 'claude-session-1', project: 'my-app' };
const observation = {
  contentSessionId: 'claude-session-1',
  tool_name: 'Edit',
  tool_input: { file_path: 'src/auth.ts', old_string: 'a', new_string: 'b' },
  tool_response: { success: true },
  cwd: '/home/me/my-app',
};

/** The session once it has no queued work (or is gone). */
async function settled(w: TestWorker, sessionDbId = 1) {
  await waitForEngine(w.engine, () => w.registry.get({ sessionDbId })?.lifecycle !== 'active', { what: `session ${sessionDbId} settled` });
  return w.registry.get({ sessionDbId });
}

describe('worker routes, happy paths', () => {
  it('answers the probes', async () => {
    worker = await startTestWorker(tempDir());
    expect((await worker.call('GET', '/api/readiness')).json).toEqual({ status: 'ready' });
    expect((await worker.call('GET', '/api/health')).json).toMatchObject({ status: 'ok', initialized: true, pid: process.pid });
    expect((await worker.call('GET', '/api/version')).json).toEqual({ version: '8.5.7' });
  });

  it('runs a session through init, observations, summarize, status, the lists and its events', async () => {
    worker = await startTestWorker(tempDir());
    const init = await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'Fix the login bug' } });
    expect(init.status).toBe(200);
    expect(init.json).toEqual({ sessionDbId: 1, promptNumber: 1, skipped: false, contextInjected: false, status: 'initialized' });
    expect((await worker.call('POST', '/sessions/1/init', { body: { userPrompt: 'Fix the login bug', promptNumber: 1 } })).json).toEqual({
      status: 'initialized',
      sessionDbId: 1,
      port: worker.port,
    });
    expect((await worker.call('POST', '/api/sessions/observations', { body: observation })).json).toEqual({ status: 'queued' });
    expect(
      (
        await worker.call('POST', '/api/sessions/summarize', {
          body: { contentSessionId: 'claude-session-1', last_assistant_message: 'Done: tokens refresh now.' },
        })
      ).json,
    ).toEqual({ status: 'queued' });
    await settled(worker);

    const status = (await worker.call('GET', '/sessions/1/status')).json;
    expect(status).toEqual({
      status: 'active',
      sessionDbId: 1,
      project: 'my-app',
      queueLength: 0,
      uptime: expect.any(Number),
      lifecycle: 'idle',
    });

    const list = (await worker.call('GET', '/api/sessions')).json;
    expect(list.sessions).toEqual([expect.objectContaining({ sessionDbId: 1, lifecycle: 'idle', state: 'idle', historyLength: 6 })]);

    const detail = (await worker.call('GET', '/api/sessions/1')).json;
    expect(detail).toMatchObject({
      sessionDbId: 1,
      lifecycle: 'idle',
      queueLength: 0,
      historyLength: 6,
      idleDeadline: expect.any(Number),
      stream: { status: 'live' },
    });

    const events = (await worker.call('GET', '/api/sessions/1/events')).json;
    expect(events.events.map((e: { type: string }) => e.type)).toEqual([
      'xstate.init',
      'INIT',
      'SLOT_GRANTED',
      'xstate.done.actor.agent',
      'INIT',
      'WORK_QUEUED',
      'SLOT_GRANTED',
      'xstate.done.actor.agent',
      'WORK_QUEUED',
      'SLOT_GRANTED',
      'xstate.done.actor.agent',
    ]);
    expect(events.events.every((e: { seq: number; at: number }, i: number) => e.seq === i + 1 && typeof e.at === 'number')).toBe(true);
    expect(events.events[7].payload.output.reply).toContain('<title>Edit src/auth.ts</title>');

    const page = (await worker.call('GET', '/api/sessions/1/events?after=2&limit=3')).json;
    expect(page.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    expect(page.next).toBe('?after=5&limit=3');

    const metrics = await worker.call('GET', '/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain('session_lifecycle_sessions{state="idle",lifecycle="idle"} 1');
    expect(metrics.text).toContain('session_lifecycle_work_items_total{outcome="processed"} 3');
    expect(metrics.text).toMatch(/session_lifecycle_log_append_seconds_count \d+/);
    expect(metrics.text).toContain('session_lifecycle_nodejs_heap_size_used_bytes');
  });

  it('answers work for a content session that was never initialised 200 skipped, with its own reason and a warning in the log', async () => {
    const dir = tempDir();
    const lines: { level: number; msg: string; contentSessionId?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const config = loadConfig({ env: { CLAUDE_MEM_DATA_DIR: dir, CLAUDE_MEM_WORKER_PORT: '0' }, home: dir });
    const running = await startWorker(config, { logger, version: '8.5.7' });
    try {
      const call = (path: string, body: unknown) => http(running.port, 'POST', path, { body });
      const typo = { ...observation, contentSessionId: 'claude-sesion-1' };
      expect((await call('/api/sessions/observations', typo)).json).toEqual({ status: 'skipped', reason: 'unknown_session' });
      expect((await call('/api/sessions/summarize', { contentSessionId: 'claude-sesion-1', last_assistant_message: 'done' })).json).toEqual(
        {
          status: 'skipped',
          reason: 'unknown_session',
        },
      );
      const warnings = lines.filter((line) => line.level === 40 && line.contentSessionId === 'claude-sesion-1');
      expect(warnings.map((line) => line.msg)).toEqual([
        'observation for a content session that was never initialised (no POST /api/sessions/init): skipped, nothing recorded',
        'summarize for a content session that was never initialised (no POST /api/sessions/init): skipped, nothing recorded',
      ]);
      // Nothing was recorded for it: no session appeared.
      expect((await http(running.port, 'GET', '/api/sessions')).json.sessions).toEqual([]);
      // A session whose prompts were all private is skipped as private, and logs no warning.
      await call('/api/sessions/init', { ...session, prompt: '<private>secret</private>' });
      expect((await call('/api/sessions/observations', observation)).json).toEqual({ status: 'skipped', reason: 'private' });
      expect(lines.filter((line) => line.level === 40)).toHaveLength(2);
    } finally {
      await running.stop({ drainMs: 0 });
    }
  });

  it('skips excluded tools, claude-mem’s own memory files, private sessions and repeated tool_use_ids', async () => {
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_SKIP_TOOLS: 'TodoWrite' });
    expect((await worker.call('POST', '/api/sessions/observations', { body: observation })).json).toEqual({
      status: 'skipped',
      reason: 'unknown_session',
    });
    const privateInit = await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: '<private>my password</private>' } });
    expect(privateInit.json).toEqual({ sessionDbId: 1, promptNumber: 1, skipped: true, reason: 'private' });
    expect(
      (
        await worker.call('POST', '/api/sessions/summarize', {
          body: { contentSessionId: session.contentSessionId, last_assistant_message: '' },
        })
      ).json,
    ).toEqual({
      status: 'skipped',
      reason: 'private',
    });

    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'now public' } });
    expect((await worker.call('POST', '/api/sessions/observations', { body: { ...observation, tool_name: 'TodoWrite' } })).json).toEqual({
      status: 'skipped',
      reason: 'tool_excluded',
    });
    const memoryFile = { ...observation, tool_input: { file_path: '/home/me/.claude-mem/session-memory/notes.md' } };
    expect((await worker.call('POST', '/api/sessions/observations', { body: memoryFile })).json).toEqual({
      status: 'skipped',
      reason: 'session_memory_meta',
    });
    const withId = { ...observation, tool_use_id: 'toolu_01' };
    expect((await worker.call('POST', '/api/sessions/observations', { body: withId })).json).toEqual({ status: 'queued' });
    expect((await worker.call('POST', '/api/sessions/observations', { body: withId })).json).toEqual({ status: 'queued' });
    await settled(worker);
    expect((await worker.call('POST', '/api/sessions/observations', { body: withId })).json).toEqual({ status: 'queued' });
    await settled(worker);
    // The repeats queued nothing, before and after the first was processed, and left nothing in the log.
    expect(worker.registry.get({ sessionDbId: 1 })!.counters).toMatchObject({ queued: 2, processed: 2 });
    const queued = worker.store.readEvents(1).filter((event) => event.type === 'WORK_QUEUED');
    expect(queued).toHaveLength(1);
  });

  it('completes and deletes', async () => {
    worker = await startTestWorker(tempDir());
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
    await worker.call('POST', '/api/sessions/init', { body: { contentSessionId: 'other', project: 'x', prompt: 'p' } });
    await settled(worker, 1);
    expect((await worker.call('POST', '/api/sessions/complete', { body: { contentSessionId: session.contentSessionId } })).json).toEqual({
      status: 'completing',
      sessionDbId: 1,
    });
    expect((await worker.call('GET', '/sessions/1/status')).json).toMatchObject({ status: 'not_found', lifecycle: 'disposed' });
    expect((await worker.call('POST', '/api/sessions/complete', { body: { contentSessionId: session.contentSessionId } })).json).toEqual({
      status: 'skipped',
      reason: 'not_active',
      sessionDbId: 1,
    });
    expect((await worker.call('GET', '/api/sessions/1')).json).toMatchObject({
      lifecycle: 'disposed',
      stream: { status: 'disposed', disposal: { reason: 'completed' } },
    });

    expect((await worker.call('DELETE', '/sessions/2')).json).toEqual({ status: 'deleted' });
    expect((await worker.call('DELETE', '/sessions/2')).json).toEqual({ status: 'deleted' });
    await worker.call('POST', '/api/sessions/init', { body: { contentSessionId: 'third', project: 'x', prompt: 'p' } });
    expect((await worker.call('POST', '/sessions/3/complete')).json).toEqual({ success: true });
    expect(worker.registry.stats().disposals).toMatchObject({ completed: 2, deleted: 1 });
  });

  it('answers the context hook with an empty context', async () => {
    worker = await startTestWorker(tempDir());
    const answer = await worker.call('GET', '/api/context/inject?project=my-app');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toContain('text/plain');
    expect(answer.text).toBe('');
  });
});

describe('worker routes, bad input: a clear error, the worker stays up, the log unchanged', () => {
  const expectNothingLogged = async (w: TestWorker, action: () => Promise<void>) => {
    const before = w.store.stats();
    await action();
    expect(w.store.stats()).toEqual(before);
    expect((await w.call('GET', '/api/health')).status).toBe(200);
  };

  it('400 for malformed JSON, wrong types and missing fields, naming them', async () => {
    worker = await startTestWorker(tempDir());
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
    await expectNothingLogged(worker, async () => {
      const malformed = await worker!.call('POST', '/api/sessions/observations', {
        raw: '{"contentSessionId": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(malformed.status).toBe(400);
      expect(malformed.json).toEqual({ error: 'invalid JSON', details: [{ problem: expect.any(String) }] });

      const wrongType = await worker!.call('POST', '/api/sessions/init', { body: { contentSessionId: 42, project: 'p', prompt: ['x'] } });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json).toEqual({
        error: 'invalid session init',
        details: [
          { field: 'contentSessionId', problem: 'contentSessionId must be a string' },
          { field: 'prompt', problem: 'prompt must be a string' },
        ],
      });

      const missing = await worker!.call('POST', '/api/sessions/observations', { body: { contentSessionId: 'c' } });
      expect(missing.status).toBe(400);
      expect(missing.json.details).toEqual([{ field: 'tool_name', problem: 'tool_name is required' }]);

      const badNumber = await worker!.call('POST', '/sessions/1/init', { body: { userPrompt: 'p', promptNumber: 'one' } });
      expect(badNumber.json.details).toEqual([{ field: 'promptNumber', problem: 'promptNumber must be a number' }]);

      const badId = await worker!.call('GET', '/sessions/abc/status');
      expect(badId.status).toBe(400);
      expect(badId.json.details).toEqual([{ field: 'sessionDbId', problem: 'sessionDbId must be a positive integer' }]);

      const badPage = await worker!.call('GET', '/api/sessions/1/events?limit=0');
      expect(badPage.status).toBe(400);

      const noBody = await worker!.call('POST', '/api/sessions/summarize', { headers: { 'content-type': 'application/json' }, raw: '' });
      expect(noBody.status).toBe(400);
    });
  });

  it('404 for an unknown session or route', async () => {
    worker = await startTestWorker(tempDir());
    await expectNothingLogged(worker, async () => {
      for (const [method, path, body] of [
        ['GET', '/sessions/99/status', undefined],
        ['DELETE', '/sessions/99', undefined],
        ['POST', '/sessions/99/complete', undefined],
        ['POST', '/sessions/99/init', { userPrompt: 'p', promptNumber: 1 }],
        ['GET', '/api/sessions/99', undefined],
        ['GET', '/api/sessions/99/events', undefined],
        ['POST', '/api/sessions/complete', { contentSessionId: 'nobody' }],
        ['GET', '/api/no-such-route', undefined],
      ] as const) {
        const answer = await worker!.call(method, path, body === undefined ? {} : { body });
        expect(answer.status, `${method} ${path}`).toBe(404);
        expect(answer.json).toMatchObject({ error: expect.any(String) });
      }
    });
  });

  it('413 over the body limit, 415 for a body that is not JSON', async () => {
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_WORKER_BODY_LIMIT_MB: '0.01' });
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
    await expectNothingLogged(worker, async () => {
      const big = await worker!.call('POST', '/api/sessions/observations', { body: { ...observation, tool_response: 'x'.repeat(20_000) } });
      expect(big.status).toBe(413);
      expect(big.json).toMatchObject({ error: 'body too large' });
      const text = await worker!.call('POST', '/api/sessions/observations', {
        raw: 'tool_name=Edit',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      expect(text.json).toMatchObject({ error: 'unsupported media type' });
      const form = await worker!.call('POST', '/api/sessions/observations', {
        raw: 'a=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.status).toBe(415);
    });
  });

  it('403 for a foreign Host (DNS rebinding) and for cross-origin browser requests', async () => {
    worker = await startTestWorker(tempDir());
    await expectNothingLogged(worker, async () => {
      const rebinding = await worker!.call('POST', '/api/sessions/init', {
        body: { ...session, prompt: 'p' },
        headers: { host: `evil.example:${worker!.port}` },
      });
      expect(rebinding.status).toBe(403);
      expect(rebinding.json.error).toBe('forbidden host');
      const wrongPort = await worker!.call('GET', '/api/sessions', { headers: { host: '127.0.0.1:1' } });
      expect(wrongPort.status).toBe(403);
      const crossOrigin = await worker!.call('POST', '/api/sessions/init', {
        body: { ...session, prompt: 'p' },
        headers: { origin: 'https://evil.example' },
      });
      expect(crossOrigin.status).toBe(403);
      expect(crossOrigin.json.error).toBe('cross-origin request refused');
      const fetchMetadata = await worker!.call('GET', '/api/sessions', { headers: { 'sec-fetch-site': 'cross-site' } });
      expect(fetchMetadata.status).toBe(403);
    });
    expect(
      (
        await worker.call('GET', '/api/sessions', {
          headers: { host: `localhost:${worker.port}`, origin: `http://localhost:${worker.port}` },
        })
      ).status,
    ).toBe(200);
  });

  it('401 without the bearer token when one is set; probes stay open', async () => {
    const token = 'a-long-and-secret-token';
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_WORKER_TOKEN: token });
    await expectNothingLogged(worker, async () => {
      expect((await worker!.call('GET', '/api/readiness')).status).toBe(200);
      expect((await worker!.call('GET', '/api/health')).status).toBe(200);
      const none = await worker!.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toContain('Bearer');
      const wrong = await worker!.call('GET', '/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(wrong.status).toBe(401);
    });
    const right = await worker.call('POST', '/api/sessions/init', {
      body: { ...session, prompt: 'p' },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(right.status).toBe(200);
  });

  it('503 with Retry-After when a session’s queue is full', async () => {
    const agent = controllableAgent();
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_MAX_QUEUED_ITEMS: '2' }, agent.agent);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
    expect((await worker.call('POST', '/api/sessions/observations', { body: observation })).json).toEqual({ status: 'queued' });
    await expectNothingLogged(worker, async () => {
      const full = await worker!.call('POST', '/api/sessions/observations', { body: observation });
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('5');
      expect(full.json).toMatchObject({ error: 'session queue full' });
    });
    agent.pending()[0]!.resolve('ok');
  });

  it('503 with Retry-After at capacity, nothing half-created', async () => {
    const agent = controllableAgent();
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '1' }, agent.agent);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'p' } });
    await expectNothingLogged(worker, async () => {
      const full = await worker!.call('POST', '/api/sessions/init', { body: { contentSessionId: 'second', project: 'x', prompt: 'p' } });
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('5');
      expect(full.json).toMatchObject({ error: 'at capacity' });
    });
    expect(worker.store.findSession('second')).toBeUndefined();
    agent.pending()[0]!.resolve('ok');
  });
});
