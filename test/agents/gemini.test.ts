import { afterEach, describe, expect, it } from 'vitest';
import { AgentError, type AgentRequest, createGeminiAgent } from '../../src/agents/index.js';
import { type GeminiResponse, startFakeGemini } from '../support/fake-gemini.js';
import { waitFor } from '../support/wait.js';

let fake: Awaited<ReturnType<typeof startFakeGemini>> | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const item = { id: 't1', kind: 'observation' as const, prompt: '<tool_use>Edit</tool_use>', promptTokens: 6, queuedAt: 0 };
const request: AgentRequest = {
  sessionDbId: 1,
  attempt: 1,
  maxAttempts: 3,
  item,
  items: [item],
  history: [
    { role: 'user', content: 'You observe a session. <user_request>fix it</user_request>', tokens: 14, pinned: true },
    { role: 'assistant', content: '<ack/>', tokens: 2 },
    { role: 'user', content: '<tool_use>Edit</tool_use>', tokens: 6 },
  ],
};

async function agentFor(...responses: GeminiResponse[]) {
  fake = await startFakeGemini((_request, index) => responses[Math.min(index, responses.length - 1)]!);
  return createGeminiAgent({ apiKey: 'AIza-fake', model: 'gemini-flash-latest', baseUrl: fake.baseUrl, timeoutMs: 2_000 });
}

async function refusalOf(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    return error as AgentError;
  }
  throw new Error('expected a refusal');
}

describe('gemini provider (@google/genai against a fake Gemini API on loopback)', () => {
  it('sends the history as contents with the init prompt as system instruction, and reads reply, model and usage', async () => {
    const agent = await agentFor({
      text: '<observation/>',
      usage: { promptTokenCount: 900, candidatesTokenCount: 40, cachedContentTokenCount: 600 },
    });
    const reply = await agent.run(request, new AbortController().signal);
    expect(reply).toEqual({
      text: '<observation/>',
      model: 'gemini-flash-latest',
      usage: { inputTokens: 300, outputTokens: 40, cacheReadTokens: 600, cacheWriteTokens: 0 },
    });
    const [sent] = fake!.requests;
    expect(sent!.path).toMatch(/^\/v1beta\/models\/gemini-flash-latest:generateContent/);
    expect(sent!.headers['x-goog-api-key']).toBe('AIza-fake');
    expect(sent!.body.systemInstruction).toMatchObject({ parts: [{ text: request.history[0]!.content }] });
    expect(sent!.body.contents).toEqual([
      { role: 'model', parts: [{ text: '<ack/>' }] },
      { role: 'user', parts: [{ text: '<tool_use>Edit</tool_use>' }] },
    ]);
  });

  it.each([
    ['400 API key not valid', { status: 400, message: 'API key not valid. Please pass a valid API key.' }, 'paused'],
    ['403 permission', { status: 403, message: 'Permission denied on resource project' }, 'paused'],
    [
      '429 quota (free tier)',
      { status: 429, message: 'You exceeded your current quota, please check your plan and billing details.', retryDelay: '39s' },
      'paused',
    ],
    ['429 rate', { status: 429, message: 'Resource has been exhausted (e.g. check rate).', retryDelay: '2s' }, 'retryable'],
    ['503 overloaded', { status: 503, message: 'The model is overloaded. Please try again later.' }, 'retryable'],
    ['500 internal', { status: 500, message: 'An internal error has occurred.' }, 'retryable'],
    [
      '400 too long',
      { status: 400, message: 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).' },
      'fatal',
    ],
    ['404 unknown model', { status: 404, message: 'models/gemini-9 is not found for API version v1beta' }, 'paused'],
  ] as const)('classifies %s as %s', async (_name, response, kind) => {
    const agent = await agentFor(response);
    const error = await refusalOf(agent.run(request, new AbortController().signal));
    expect(error).toBeInstanceOf(AgentError);
    expect(error.kind).toBe(kind);
    expect(fake!.requests).toHaveLength(1); // the SDK's own retries are off
    if ('retryDelay' in response) expect(error.retryAfterMs).toBe(Number.parseInt(response.retryDelay, 10) * 1_000);
  });

  it('an answer without text is retryable', async () => {
    fake = await startFakeGemini(() => ({ text: '' }));
    const agent = createGeminiAgent({ apiKey: 'k', baseUrl: fake.baseUrl });
    expect((await refusalOf(agent.run(request, new AbortController().signal))).kind).toBe('retryable');
  });

  it('aborts the request when the session’s signal fires, and times out as retryable', async () => {
    const agent = await agentFor({ stall: true });
    const controller = new AbortController();
    const call = agent.run(request, controller.signal);
    await waitFor(() => fake!.requests.length > 0, { what: 'the request at the fake Gemini' });
    controller.abort(new Error('deleted'));
    await expect(call).rejects.toThrow('deleted');
    await waitFor(() => fake!.requests[0]!.aborted, { what: 'the fake Gemini seeing the request aborted', timeoutMs: 2_000 });
    const slow = createGeminiAgent({ apiKey: 'k', baseUrl: fake!.baseUrl, timeoutMs: 200 });
    expect(await refusalOf(slow.run(request, new AbortController().signal))).toMatchObject({ kind: 'retryable' });
  });
});
