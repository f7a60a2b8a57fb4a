/**
 * The cost benchmark's fake Anthropic API (bench/lib/fake-anthropic.ts) speaks the Messages API as the
 * official SDK expects it: JSON and streamed answers, usage with cache reads and writes, Anthropic's
 * error shape for a bad request. Driven by @anthropic-ai/sdk, on loopback, and by the `claude` provider
 * with the real Claude Code, as the benchmark runs ours.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, REPLY_CHARS, startFakeAnthropic } from '../../bench/lib/fake-anthropic.js';
import type { ConversationMessage } from '../../src/history/index.js';
import { type AgentRequest, ChildProcesses, createClaudeAgent } from '../../src/index.js';

let fake: FakeAnthropic;
let client: Anthropic;
beforeEach(async () => {
  // 100× faster than real time: a call's session-time latency of a few seconds takes tens of milliseconds,
  // and the cache's 5 minutes take 3 s.
  const epoch = performance.now();
  fake = await startFakeAnthropic({ speed: 100, now: () => (performance.now() - epoch) * 100 });
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.baseUrl, maxRetries: 0 });
});
afterEach(async () => {
  await fake.close();
});

const longText = (seed: string) => `${seed} `.padEnd(20_000, 'x'); // 5,000 tokens
const cached = (text: string) => ({ type: 'text' as const, text, cache_control: { type: 'ephemeral' as const } });

describe('fake Anthropic Messages API', () => {
  it('answers each observation marker, and reports usage with cache creation then cache reads', async () => {
    const first = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 4_096,
      system: 'You observe a coding session.',
      messages: [{ role: 'user', content: [cached(`${longText('init')}\nobs:a-1; obs:a-2;`)] }],
    });
    expect(first.content).toHaveLength(1);
    expect(first.content[0]!.type === 'text' && first.content[0]!.text.match(/<observation>/g)).toHaveLength(2);
    expect(first.usage).toMatchObject({ cache_read_input_tokens: 0, output_tokens: Math.ceil((2 * REPLY_CHARS.observation + 1) / 4) });
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(5_000);

    const reply = first.content[0]!.type === 'text' ? first.content[0]!.text : '';
    const second = await client.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 4_096,
      system: 'You observe a coding session.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: `${longText('init')}\nobs:a-1; obs:a-2;` }] },
        { role: 'assistant', content: reply },
        { role: 'user', content: [cached('obs:a-3;')] },
      ],
    });
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.input_tokens).toBe(0);
    expect([...fake.answered.keys()]).toEqual(['obs:a-1;', 'obs:a-2;', 'obs:a-3;']);
    expect(fake.calls.map((call) => call.kind)).toEqual(['observations', 'observations']);
    expect(fake.calls[1]!.dollars).toBeGreaterThan(0);
  });

  it('streams the answer as Server-Sent Events the SDK assembles, with the usage of message_start and message_delta', async () => {
    const stream = client.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 4_096,
      messages: [{ role: 'user', content: [cached(`${longText('init')}\nsum:s-1;`)] }],
    });
    const message = await stream.finalMessage();
    expect(message.content[0]!.type === 'text' && message.content[0]!.text).toMatch(/^<summary>.*<\/summary>$/s);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBe(Math.ceil(REPLY_CHARS.summary / 4));
    expect(message.usage.cache_creation_input_tokens).toBeGreaterThan(5_000);
    expect(fake.calls[0]).toMatchObject({ stream: true, kind: 'summary' });
  });

  it('refuses a bad request in Anthropic’s error shape, and charges nothing for it', async () => {
    const five = Array.from({ length: 5 }, (_, i) => cached(`block ${i}`));
    await expect(
      client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: five }] }),
    ).rejects.toMatchObject({
      status: 400,
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringMatching(/maximum of 4 blocks with cache_control/) },
      },
    });
    await expect(
      client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'assistant', content: 'hello' }] }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x'.repeat(820_000) }] }),
    ).rejects.toMatchObject({ status: 400, error: { error: { message: expect.stringMatching(/prompt is too long/) } } });
    const raw = await fetch(`${fake.baseUrl}/v1/messages`, { method: 'POST', body: '{not json' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { type: string }).type).toBe('error');
    expect(fake.calls).toHaveLength(0);
  });
});

describe('fake Anthropic Messages API, called by the claude provider (real Claude Code)', () => {
  let processes: ChildProcesses;
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'claude-home-'));
    processes = new ChildProcesses({ maxRunning: 1 });
  });
  afterEach(async () => {
    processes.killAll();
    await processes.settled();
    rmSync(home, { recursive: true, force: true });
  });

  const batch = (marker: string) => ({
    id: marker,
    kind: 'observation' as const,
    prompt: longText(marker),
    promptTokens: 5_000,
    queuedAt: 0,
  });
  const requestFor = (history: ConversationMessage[], item: ReturnType<typeof batch>): AgentRequest => ({
    sessionDbId: 1,
    attempt: 1,
    maxAttempts: 3,
    item,
    items: [item],
    history,
  });

  it('answers only the batch, the last block, and the next batch reads the previous call from the cache', async () => {
    const agent = createClaudeAgent({
      processes,
      model: 'claude-haiku-4-5',
      env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-test' },
    });
    const init: ConversationMessage = { role: 'user', content: 'Fix the login test', tokens: 5, pinned: true };
    const first = batch('obs:c-1;');
    const history: ConversationMessage[] = [init, { role: 'user', content: first.prompt, tokens: first.promptTokens }];
    const one = await agent.run(requestFor(history, first), new AbortController().signal);
    expect(one.usage).toMatchObject({ cacheReadTokens: 0 });
    expect(one.usage!.cacheWriteTokens).toBeGreaterThan(5_000);

    history.push({ role: 'assistant', content: one.text, tokens: Math.ceil(one.text.length / 4) });
    const second = batch('obs:c-2;');
    history.push({ role: 'user', content: second.prompt, tokens: second.promptTokens });
    const two = await agent.run(requestFor(history, second), new AbortController().signal);
    // Claude Code's own system prompt and reminders, the history as blocks: the first call's whole prompt is the second's prefix.
    expect(two.usage!.cacheReadTokens).toBe(one.usage!.cacheWriteTokens! + one.usage!.inputTokens);
    expect([...fake.answered.keys()]).toEqual(['obs:c-1;', 'obs:c-2;']);
    expect(fake.calls.map((call) => call.markers)).toEqual([['obs:c-1;'], ['obs:c-2;']]);
    expect(fake.others).toEqual([]);
  });

  it('with digests, reads the history before the batch from the cache and bills the batch, sent once, as plain input', async () => {
    const agent = createClaudeAgent({
      processes,
      model: 'claude-haiku-4-5',
      env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-test' },
    });
    const init: ConversationMessage = { role: 'user', content: longText('Fix the login test'), tokens: 5_000, pinned: true };
    const first = batch('obs:d-1;');
    const one = await agent.run(
      { ...requestFor([init, { role: 'user', content: first.prompt, tokens: 5_000 }], first), batchStaysInHistory: false },
      new AbortController().signal,
    );
    // The init prompt (and Claude Code's preamble) written to the cache; the batch, after the breakpoint, plain input.
    expect(one.usage!.cacheReadTokens).toBe(0);
    expect(one.usage!.inputTokens).toBe(5_000);
    expect(one.usage!.cacheWriteTokens).toBeGreaterThan(5_000);

    const second = batch('obs:d-2;');
    const history: ConversationMessage[] = [
      init,
      { role: 'user', content: '[1 tool use, shown in full when it was answered; what you observed of it follows]', tokens: 21 },
      { role: 'assistant', content: one.text, tokens: Math.ceil(one.text.length / 4) },
      { role: 'user', content: second.prompt, tokens: 5_000 },
    ];
    const two = await agent.run({ ...requestFor(history, second), batchStaysInHistory: false }, new AbortController().signal);
    expect(two.usage!.cacheReadTokens).toBe(one.usage!.cacheWriteTokens);
    expect(two.usage!.inputTokens).toBe(5_000);
    expect(two.usage!.cacheWriteTokens).toBeLessThan(200);
    expect([...fake.answered.keys()]).toEqual(['obs:d-1;', 'obs:d-2;']);
  });
});
