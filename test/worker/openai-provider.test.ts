import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer } from '../support/chat-server.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor, waitForEngine } from '../support/wait.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
let server: Awaited<ReturnType<typeof startChatServer>> | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  await server?.close();
  worker = undefined;
  server = undefined;
});

const session = { contentSessionId: 'c1', project: 'my-app' };
const use = {
  contentSessionId: 'c1',
  tool_name: 'Bash',
  tool_input: { command: 'npm test' },
  tool_response: { stdout: 'ok' },
  cwd: '/repo',
};

async function workerOn(baseUrl: string, env: Record<string, string> = {}) {
  return startTestWorker(tempDir(), {
    CLAUDE_MEM_PROVIDER: 'openai-compatible',
    CLAUDE_MEM_OPENAI_BASE_URL: baseUrl,
    CLAUDE_MEM_MODEL: 'test-model',
    CLAUDE_MEM_OPENAI_API_KEY: 'sk-local-test',
    ...env,
  });
}

describe('the openai-compatible provider, driven through the worker', () => {
  it('sends each item with the bounded history and logs the reply and token usage', async () => {
    server = await startChatServer([
      { reply: '<ack/>', usage: { prompt_tokens: 50, completion_tokens: 5 } },
      { reply: '<observation>ran the tests</observation>', usage: { prompt_tokens: 80, completion_tokens: 9 } },
    ]);
    worker = await workerOn(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await worker.call('POST', '/api/sessions/observations', { body: use });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.lifecycle === 'idle', {
      what: 'the session to go idle',
      timeoutMs: 5_000,
    });
    expect(server.requests.map((r) => r.body.messages.map((m) => m.role))).toEqual([['user'], ['system', 'assistant', 'user']]);
    expect(server.requests[1]!.body.model).toBe('test-model');
    const view = worker.registry.get({ sessionDbId: 1 })!;
    expect(view.counters).toMatchObject({ processed: 2, inputTokens: 130, outputTokens: 14 });
    const replies = worker.store.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent');
    expect(replies.map((e) => (e.payload as { output: { reply: string } }).output.reply)).toEqual([
      '<ack/>',
      '<observation>ran the tests</observation>',
    ]);
  });

  it('sends the observations queued meanwhile in one call, up to CLAUDE_MEM_MAX_BATCH_ITEMS, and logs each reply once', async () => {
    server = await startChatServer([
      { reply: '<ack/>', delayMs: 300 },
      { reply: '<observation>1</observation><observation>2</observation>' },
    ]);
    worker = await workerOn(server.baseUrl, { CLAUDE_MEM_MAX_BATCH_ITEMS: '2' });
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await waitFor(() => server!.requests.length === 1, { what: 'the provider to be called', timeoutMs: 5_000 });
    for (const command of ['npm test', 'npm run lint', 'git status']) {
      expect((await worker.call('POST', '/api/sessions/observations', { body: { ...use, tool_input: { command } } })).json).toEqual({
        status: 'queued',
      });
    }
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.lifecycle === 'idle', {
      what: 'the session to go idle',
      timeoutMs: 5_000,
    });
    const lastUserMessages = server.requests.map((r) => r.body.messages.at(-1)!.content);
    expect(server.requests).toHaveLength(3);
    expect(lastUserMessages[1]).toMatch(/npm test[\s\S]*<\/tool_use>\n\n<tool_use>[\s\S]*npm run lint/);
    expect(lastUserMessages[2]).toContain('git status');
    expect(lastUserMessages[2]).not.toContain('npm run lint');
    const replies = worker.store.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent');
    expect(replies).toHaveLength(3);
    expect(worker.registry.get({ sessionDbId: 1 })!.counters).toMatchObject({ processed: 4, messagesAppended: 6 });
  });

  it('aborts a slow reply when the session is deleted', async () => {
    server = await startChatServer([{ hang: true }]);
    worker = await workerOn(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await waitFor(() => server!.requests.length === 1, { what: 'the provider to be called', timeoutMs: 5_000 });
    expect((await worker.call('DELETE', '/sessions/1')).json).toEqual({ status: 'deleted' });
    await waitFor(() => server!.requests[0]!.aborted, { what: 'the HTTP call to be aborted', timeoutMs: 2_000 });
    expect(worker.registry.stats()).toMatchObject({ live: 0, slots: { inUse: 0 } });
  });

  it('backs off on 429 and succeeds on the retry', async () => {
    server = await startChatServer([
      { status: 429, body: '{"error":"rate limited"}', headers: { 'retry-after': '0' } },
      { reply: '<ack/>' },
    ]);
    worker = await workerOn(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.state === 'active.backoff', {
      what: 'the backoff',
      timeoutMs: 5_000,
    });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.lifecycle === 'idle', {
      what: 'the retry to succeed',
      timeoutMs: 5_000,
    });
    expect(server.requests).toHaveLength(2);
    expect(worker.registry.get({ sessionDbId: 1 })!.counters).toMatchObject({ processed: 1, retries: 1, failed: 0 });
  });

  it('pauses the session on 401 with its queue kept, instead of a restart loop', async () => {
    server = await startChatServer([{ status: 401, body: '{"error":"invalid api key"}' }]);
    worker = await workerOn(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await worker.call('POST', '/api/sessions/observations', { body: use });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.state === 'active.paused', {
      what: 'the pause',
      timeoutMs: 5_000,
    });
    const detail = (await worker.call('GET', '/api/sessions/1')).json;
    expect(detail).toMatchObject({
      state: 'active.paused',
      queueLength: 2,
      lastFailure: { kind: 'paused', message: expect.stringContaining('401') },
    });
    // No restart loop: the paused session's next attempt is its timer at retryAt, minutes away; nothing else calls the provider.
    expect(detail.retryAt - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(server.requests).toHaveLength(1);
  });
});

describe('the openrouter provider (claude-mem’s keys), driven through the worker', () => {
  const openrouterWorker = (baseUrl: string, env: Record<string, string> = {}) =>
    startTestWorker(tempDir(), {
      CLAUDE_MEM_PROVIDER: 'openrouter',
      CLAUDE_MEM_OPENROUTER_API_KEY: 'sk-or-v1-fake',
      CLAUDE_MEM_OPENROUTER_BASE_URL: baseUrl,
      CLAUDE_MEM_OPENROUTER_SITE_URL: 'https://example.org',
      ...env,
    });

  it('sends claude-mem’s default model with OpenRouter’s attribution headers, and logs the reply as openrouter’s with cached tokens apart', async () => {
    server = await startChatServer([{ reply: '<ack/>', usage: { prompt_tokens: 50, completion_tokens: 5 } }]);
    worker = await openrouterWorker(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.lifecycle === 'idle', {
      what: 'the session to go idle',
      timeoutMs: 5_000,
    });
    const [sent] = server.requests;
    expect(sent!.body.model).toBe('xiaomi/mimo-v2-flash:free');
    expect(sent!.headers).toMatchObject({
      authorization: 'Bearer sk-or-v1-fake',
      'http-referer': 'https://example.org',
      'x-title': 'claude-mem',
    });
    const [reply] = worker.store.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent');
    expect((reply!.payload as { output: unknown }).output).toMatchObject({
      provider: 'openrouter',
      usage: { inputTokens: 50, outputTokens: 5 },
    });
    expect((await worker.call('GET', '/api/sessions/1')).json.usageByProvider).toEqual({
      openrouter: { batches: 1, inputTokens: 50, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  it('pauses on OpenRouter’s 402 for credits, keeping the queue', async () => {
    server = await startChatServer([
      {
        status: 402,
        body: '{"error":{"code":402,"message":"This request requires more credits, or fewer max_tokens. You requested up to 4096 tokens, but can only afford 100."}}',
      },
    ]);
    worker = await openrouterWorker(server.baseUrl);
    await worker.call('POST', '/api/sessions/init', { body: { ...session, prompt: 'fix it' } });
    await waitForEngine(worker!.engine, () => worker!.registry.get({ sessionDbId: 1 })?.state === 'active.paused', {
      what: 'the pause',
      timeoutMs: 5_000,
    });
    expect((await worker.call('GET', '/api/sessions/1')).json).toMatchObject({
      queueLength: 1,
      lastFailure: { kind: 'paused', message: expect.stringContaining('402') },
    });
  });
});
