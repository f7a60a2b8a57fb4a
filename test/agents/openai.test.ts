import { afterEach, describe, expect, it } from 'vitest';
import { AgentError, type AgentRequest, createOpenAICompatibleAgent } from '../../src/index.js';
import { startChatServer } from '../support/chat-server.js';
import { waitFor } from '../support/wait.js';

let server: Awaited<ReturnType<typeof startChatServer>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const item = { id: 't1', kind: 'observation' as const, prompt: '<tool_use>Edit</tool_use>', promptTokens: 6, queuedAt: 0 };
const request: AgentRequest = {
  sessionDbId: 1,
  attempt: 1,
  item,
  items: [item],
  history: [
    { role: 'user', content: 'You observe a session. <user_request>fix it</user_request>', tokens: 14, pinned: true },
    { role: 'assistant', content: '<ack/>', tokens: 2 },
    { role: 'user', content: '<tool_use>Edit</tool_use>', tokens: 6 },
  ],
};

async function failureOf(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    return error as AgentError;
  }
  throw new Error('expected the call to fail');
}

describe('openai-compatible agent (the openai SDK against a chat-completions server on loopback)', () => {
  it('posts the bounded history with the init prompt as system message, and reads reply and usage', async () => {
    server = await startChatServer([{ reply: '<observation>…</observation>', usage: { prompt_tokens: 120, completion_tokens: 30 } }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'llama3.1', apiKey: 'sk-test' });
    const reply = await agent.run(request, new AbortController().signal);
    expect(reply).toEqual({
      text: '<observation>…</observation>',
      model: 'llama3.1',
      usage: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    const [sent] = server.requests;
    expect(sent!.headers.authorization).toBe('Bearer sk-test');
    expect(sent!.body).toEqual({
      model: 'llama3.1',
      messages: [
        { role: 'system', content: 'You observe a session. <user_request>fix it</user_request>' },
        { role: 'assistant', content: '<ack/>' },
        { role: 'user', content: '<tool_use>Edit</tool_use>' },
      ],
    });
  });

  it('sends a first prompt once, as the user message', async () => {
    server = await startChatServer([{ reply: 'ok' }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    const first = { role: 'user' as const, content: 'the init prompt', tokens: 4, pinned: true as const };
    await agent.run(
      { ...request, item: { ...request.item, kind: 'prompt', prompt: 'the init prompt' }, history: [first] },
      new AbortController().signal,
    );
    expect(server.requests[0]!.body.messages).toEqual([{ role: 'user', content: 'the init prompt' }]);
  });

  it('sends a batch as its one user message, as the history holds it', async () => {
    server = await startChatServer([{ reply: 'ok' }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    const second = { ...item, id: 't2', prompt: '<tool_use>Read</tool_use>' };
    const batch = { ...item, prompt: `${item.prompt}\n\n${second.prompt}`, promptTokens: 12 };
    const history = [...request.history.slice(0, 2), { role: 'user' as const, content: batch.prompt, tokens: 12 }];
    await agent.run({ ...request, item: batch, items: [item, second], history }, new AbortController().signal);
    expect(server.requests[0]!.body.messages.map((m) => m.content)).toEqual([
      request.history[0]!.content,
      '<ack/>',
      '<tool_use>Edit</tool_use>\n\n<tool_use>Read</tool_use>',
    ]);
  });

  it('sends the item prompt even when the history bound has cut it', async () => {
    server = await startChatServer([{ reply: 'ok' }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    await agent.run({ ...request, history: [] }, new AbortController().signal);
    expect(server.requests[0]!.body.messages).toEqual([{ role: 'user', content: '<tool_use>Edit</tool_use>' }]);
    expect(server.requests[0]!.headers.authorization).toBeUndefined();
  });

  it.each([
    [401, '{"error":"invalid api key"}', 'paused'],
    [403, '{"error":"forbidden"}', 'paused'],
    [402, '{"error":"payment required"}', 'paused'],
    [429, '{"error":{"code":"insufficient_quota"}}', 'paused'],
    [429, '{"error":"rate limited"}', 'retryable'],
    [500, 'oops', 'retryable'],
    [503, 'overloaded', 'retryable'],
    [400, '{"error":"context length exceeded"}', 'fatal'],
    [404, '{"error":"no such model"}', 'paused'],
    [400, '{"error":{"message":"Your spend limit has been reached"}}', 'paused'],
    [
      429,
      '{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","code":"insufficient_quota"}}',
      'paused',
    ],
  ] as const)('classifies HTTP %i (%s) as %s', async (status, body, kind) => {
    server = await startChatServer([{ status, body, headers: { 'retry-after': '7' } }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    const error = await failureOf(agent.run(request, new AbortController().signal));
    expect(error).toBeInstanceOf(AgentError);
    expect(error.kind).toBe(kind);
    expect(error.message).toContain(String(status));
    if (kind !== 'fatal') expect(error.retryAfterMs).toBe(7_000);
  });

  it('treats an answer without content, or that is not JSON, as retryable', async () => {
    server = await startChatServer([{ raw: '{"choices":[]}' }, { raw: '<html>bad gateway</html>' }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    expect((await failureOf(agent.run(request, new AbortController().signal))).kind).toBe('retryable');
    expect((await failureOf(agent.run(request, new AbortController().signal))).kind).toBe('retryable');
  });

  it('gives up after its timeout, and reports it as retryable', async () => {
    server = await startChatServer([{ hang: true }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm', timeoutMs: 200 });
    const error = await failureOf(agent.run(request, new AbortController().signal));
    expect(error).toMatchObject({ kind: 'retryable', message: expect.stringContaining('no answer within 200 ms') });
  });

  it('reports an unreachable provider as retryable', async () => {
    const agent = createOpenAICompatibleAgent({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm' });
    expect((await failureOf(agent.run(request, new AbortController().signal))).kind).toBe('retryable');
  });

  it('aborts the HTTP request when the session’s signal fires', async () => {
    server = await startChatServer([{ hang: true }]);
    const agent = createOpenAICompatibleAgent({ baseUrl: server.baseUrl, model: 'm' });
    const controller = new AbortController();
    const call = agent.run(request, controller.signal);
    await waitFor(() => server!.requests.length > 0, { what: 'the request at the chat server' });
    controller.abort();
    await expect(call).rejects.toThrow();
    await waitFor(() => server!.requests[0]!.aborted, { what: 'the chat server seeing the request aborted', timeoutMs: 2_000 });
  });
});
