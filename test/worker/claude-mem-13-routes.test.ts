/**
 * What claude-mem 13.x's hook client reads from each answer, and the fields it adds to each body, route by
 * route (the client itself runs in claude-mem-13-hooks.test.ts; here each rule has its own case, wrong
 * input included).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startWorker } from '../../src/worker/index.js';
import { useTempDir } from '../support/tmp.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

const session = { contentSessionId: 'c0ffee00-1111-4222-8333-444455556666', project: 'my-app' };

describe('claude-mem 13.x hook client: the answers it reads', () => {
  it('/api/health claims neither claude-mem’s version nor an uptime, so the hooks never count this worker stale or wedged', async () => {
    worker = await startTestWorker(tempDir());
    const health = (await worker.call('GET', '/api/health')).json;
    // 13.x compares `version` with its plugin's and SIGKILLs the pid of claude-mem's worker.pid on a
    // mismatch; an absent version is "unknown", which matches. `uptime` past 300 s on a worker that is not
    // ready makes it recycle the worker the same way.
    expect(health).not.toHaveProperty('version');
    expect(health).not.toHaveProperty('uptime');
    expect(health).toMatchObject({ status: 'ok', service: 'session-lifecycle', serviceVersion: expect.any(String), pid: process.pid });
    expect((await worker.call('GET', '/api/readiness')).json).toEqual({ status: 'ready' });
  });

  it('/api/sessions/init answers sessionDbId (a number), promptNumber, skipped, contextInjected and status', async () => {
    worker = await startTestWorker(tempDir());
    const body = { ...session, prompt: 'Fix the flaky login test', platformSource: 'claude' };
    const first = await worker.call('POST', '/api/sessions/init', { body });
    expect(first.json).toEqual({ sessionDbId: 1, promptNumber: 1, skipped: false, contextInjected: false, status: 'initialized' });
    const second = await worker.call('POST', '/api/sessions/init', { body: { ...body, prompt: 'Now the logout test' } });
    // The session was live: its agent has what came before.
    expect(second.json).toEqual({ sessionDbId: 1, promptNumber: 2, skipped: false, contextInjected: true, status: 'initialized' });
    const inSubagent = await worker.call('POST', '/api/sessions/init', {
      body: { ...body, prompt: 'Search the tests', agentId: 'agent-7f3a', agentType: 'Explore' },
    });
    expect(inSubagent.json).toMatchObject({ sessionDbId: 1, promptNumber: 3, skipped: false });
  });

  it('accepts platformSource, agentId, agentType and tool_use_id on an observation; skips a subagent’s summary as claude-mem does', async () => {
    worker = await startTestWorker(tempDir());
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'Fix it', platformSource: 'claude' } });
    const observation = {
      contentSessionId: session.contentSessionId,
      platformSource: 'claude',
      tool_name: 'Bash',
      tool_input: { command: 'npm test' },
      tool_response: { stdout: 'ok' },
      cwd: '/home/dev/my-app',
      agentId: 'agent-7f3a',
      agentType: 'Explore',
      tool_use_id: 'toolu_01XYZ',
    };
    expect((await worker.call('POST', '/api/sessions/observations', { body: observation })).json).toEqual({ status: 'queued' });
    const summary = {
      contentSessionId: session.contentSessionId,
      last_assistant_message: 'Done.',
      platformSource: 'claude',
      observedModel: 'claude-sonnet-4-5',
      observedBilling: { kind: 'subscription' },
    };
    expect((await worker.call('POST', '/api/sessions/summarize', { body: { ...summary, agentId: 'agent-7f3a' } })).json).toEqual({
      status: 'skipped',
      reason: 'subagent_context',
    });
    expect((await worker.call('POST', '/api/sessions/summarize', { body: summary })).json).toEqual({ status: 'queued' });
  });

  it('/api/context/inject takes 13.x’s ?projects=a,b as 8.5.x’s ?project=, and answers text', async () => {
    worker = await startTestWorker(tempDir());
    const answer = await worker.call('GET', '/api/context/inject?projects=my-app,my-app-worktree&platformSource=claude');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toContain('text/plain');
    const missing = await worker.call('GET', '/api/context/inject?platformSource=claude');
    expect(missing.status).toBe(400);
  });

  it('400 for the added fields of the wrong type or length, naming them, and nothing recorded', async () => {
    worker = await startTestWorker(tempDir());
    const before = worker.store.stats();
    const wrong = await worker.call('POST', '/api/sessions/init', {
      body: { ...session, prompt: 'p', platformSource: 7, agentId: 'a'.repeat(257), agentType: ['Explore'] },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.details).toEqual([
      { field: 'platformSource', problem: 'platformSource must be a string' },
      { field: 'agentId', problem: 'agentId must be at most 256 characters' },
      { field: 'agentType', problem: 'agentType must be a string' },
    ]);
    const observation = await worker.call('POST', '/api/sessions/observations', {
      body: { contentSessionId: 'c', tool_name: 'Bash', platformSource: 'x'.repeat(65) },
    });
    expect(observation.json.details).toEqual([{ field: 'platformSource', problem: 'platformSource must be at most 64 characters' }]);
    expect(worker.store.stats()).toEqual(before);
  });

  it('a settings.json in claude-mem’s formats (its provider, model and log level) starts the worker with that provider, and nothing to warn about', async () => {
    const home = tempDir();
    mkdirSync(join(home, '.claude-mem'));
    writeFileSync(
      join(home, '.claude-mem', 'settings.json'),
      JSON.stringify({
        CLAUDE_MEM_PROVIDER: 'claude',
        CLAUDE_MEM_MODEL: 'claude-haiku-4-5-20251001',
        CLAUDE_MEM_LOG_LEVEL: 'INFO',
        CLAUDE_MEM_MODE: 'code',
      }),
    );
    const lines: { level: number; msg: string; provider?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text));
        done();
      },
    });
    const config = loadConfig({ env: { CLAUDE_MEM_WORKER_PORT: '0' }, home });
    expect(config).toMatchObject({ provider: 'claude', logLevel: 'info', providers: { claude: { model: 'claude-haiku-4-5-20251001' } } });
    // Nothing is asked of Claude before a session has work: the worker starts without a login.
    const started = await startWorker(config, { logger: pino({ level: config.logLevel }, sink) });
    try {
      expect(lines.find((line) => line.msg === 'worker listening; recovering sessions from its log')?.provider).toBe('claude');
      expect(lines.filter((line) => line.level >= 40 && line.msg !== 'dashboard unavailable')).toEqual([]);
    } finally {
      await started.stop({ drainMs: 0 });
    }
  });
});
