/**
 * The `claude` provider with the real Claude Code binary (the SDK's optional dependency) against a fake
 * Anthropic Messages API on loopback: what it sends, what it reads, how it classifies refusals, and that
 * no Claude Code process outlives its call, looked for in /proc.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, type AgentRequest, ChildProcesses, CLAUDE_SYSTEM_PROMPT, createClaudeAgent } from '../../src/agents/index.js';
import { killOnExit } from '../support/children.js';
import { type AnthropicResponse, type FakeAnthropic, scripted, startFakeAnthropic } from '../support/fake-anthropic.js';
import { eventually, gone, isRunning } from '../support/pids.js';
import { waitFor } from '../support/wait.js';

const owner = fileURLToPath(new URL('../support/process-owner.ts', import.meta.url));
let fake: FakeAnthropic;
let processes: ChildProcesses;
let home: string;
beforeAll(() => {
  // Claude Code writes its own config under HOME: a throwaway one.
  home = mkdtempSync(join(tmpdir(), 'claude-home-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));
afterEach(async () => {
  processes?.killAll();
  await processes?.settled();
  await fake?.close();
});

async function agentFor(...responses: AnthropicResponse[]) {
  fake = await startFakeAnthropic(scripted(...responses));
  processes = new ChildProcesses({ maxRunning: 2 });
  return createClaudeAgent({
    processes,
    env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-fake' },
  });
}

const observation = {
  id: 'o2',
  kind: 'observation' as const,
  prompt: '<tool_use>\n<tool_name>Edit</tool_name>\n</tool_use>',
  promptTokens: 9,
  queuedAt: 0,
};
const request: AgentRequest = {
  sessionDbId: 1,
  attempt: 1,
  maxAttempts: 3,
  item: observation,
  items: [observation],
  history: [
    { role: 'user', content: '<user_request>fix the parser</user_request>', tokens: 10, pinned: true },
    { role: 'assistant', content: '<ack>fixing the parser</ack>', tokens: 7 },
    { role: 'user', content: observation.prompt, tokens: 9 },
  ],
};

async function refusalOf(promise: Promise<unknown>): Promise<AgentError> {
  try {
    await promise;
  } catch (error) {
    return error as AgentError;
  }
  throw new Error('expected the call to be refused');
}

describe('claude provider (real Claude Code, fake Anthropic API)', () => {
  it('sends the bounded history as one message of blocks with its own short prompt, no tools, one turn; reads reply, model and usage with cache tokens', async () => {
    const agent = await agentFor({
      text: '<observation><type>change</type><title>Edit parser</title></observation>',
      usage: { input_tokens: 40, output_tokens: 25, cache_read_input_tokens: 1_200, cache_creation_input_tokens: 300 },
    });
    const reply = await agent.run(request, new AbortController().signal);
    expect(reply).toEqual({
      text: '<observation><type>change</type><title>Edit parser</title></observation>',
      model: 'claude-haiku-4-5-20251001',
      usage: { inputTokens: 40, outputTokens: 25, cacheReadTokens: 1_200, cacheWriteTokens: 300 },
    });
    expect(fake.requests).toHaveLength(1);
    const [sent] = fake.requests;
    expect(sent!.path).toMatch(/^\/v1\/messages/);
    expect(sent!.headers['x-api-key']).toBe('sk-ant-fake');
    expect(sent!.body.model).toBe('claude-haiku-4-5-20251001');
    expect(sent!.body.tools).toEqual([]);
    expect(sent!.body.thinking).toEqual({ type: 'disabled' });
    const system = (sent!.body.system as unknown as { text: string }[]).map((block) => block.text);
    expect(system).toContain(CLAUDE_SYSTEM_PROMPT);
    // One user message: Claude Code's own reminders, then our history, one block per message, the batch last.
    expect(sent!.body.messages).toHaveLength(1);
    const blocks = sent!.body.messages[0]!.content as unknown as { text: string; cache_control?: unknown }[];
    const ours = blocks.slice(-3);
    expect(ours.map((block) => block.text)).toEqual([
      '<user_request>fix the parser</user_request>',
      '<previous_reply>\n<ack>fixing the parser</ack>\n</previous_reply>',
      observation.prompt,
    ]);
    // The one cache breakpoint is on the batch, which stays in the history: the next call finds this prefix.
    expect(blocks.at(-1)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(blocks.filter((block) => block.cache_control !== undefined)).toHaveLength(1);
    expect((sent!.body.system as unknown as { cache_control?: unknown }[]).every((block) => block.cache_control === undefined)).toBe(true);
    // Small: no Claude Code system prompt or tool definitions (58 KB with the SDK's defaults).
    expect(sent!.bytes).toBeLessThan(6_000);
    await eventually(() => (processes.running === 0 ? true : undefined), 2_000, 'Claude Code to exit');
  });

  it.each([
    ['401 invalid key', { status: 401, message: 'invalid x-api-key' }, 'paused'],
    ['403 permission', { status: 403, message: 'Your API key does not have permission to use the specified resource.' }, 'paused'],
    [
      '400 credit balance',
      {
        status: 400,
        message: 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
      },
      'paused',
    ],
    [
      '400 spend limit',
      {
        status: 400,
        message: 'You have reached your specified workspace API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.',
      },
      'paused',
    ],
    [
      '429 rate limit',
      { status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '7' } },
      'retryable',
    ],
    ['529 overloaded', { status: 529, message: 'Overloaded' }, 'retryable'],
    ['500 api error', { status: 500, message: 'Internal server error' }, 'retryable'],
    ['400 prompt too long', { status: 400, message: 'prompt is too long: 250000 tokens > 200000 maximum' }, 'fatal'],
    ['404 unknown model', { status: 404, message: 'model: claude-haiku-9' }, 'paused'],
  ] as const)('classifies %s as %s, and leaves no process', async (_name, response, kind) => {
    const agent = await agentFor(response as AnthropicResponse);
    const error = await refusalOf(agent.run(request, new AbortController().signal));
    expect(error).toBeInstanceOf(AgentError);
    expect({ kind: error.kind, message: error.message }).toMatchObject({ kind, message: expect.stringContaining('Claude Code refused') });
    // Claude Code's own retries are off (the session's backoff retries); it asks once more itself after some 400/404s.
    expect(fake.requests.length).toBeLessThanOrEqual(kind === 'retryable' ? 1 : 2);
    await eventually(() => (processes.running === 0 ? true : undefined), 2_000, 'Claude Code to exit');
  });

  it('puts its breakpoint before a batch that leaves the history once answered (digested), so the batch is not written to the cache', async () => {
    const agent = await agentFor({ text: '<observation><type>change</type></observation>' });
    await agent.run({ ...request, batchStaysInHistory: false }, new AbortController().signal);
    const blocks = fake.requests[0]!.body.messages[0]!.content as unknown as { text: string; cache_control?: unknown }[];
    expect(blocks.at(-1)).toEqual({ type: 'text', text: observation.prompt });
    expect(blocks.at(-2)!.cache_control).toEqual({ type: 'ephemeral' });
    expect(blocks.filter((block) => block.cache_control !== undefined)).toHaveLength(1);
  });

  it('an abort (DELETE, eviction, timeout, shutdown) kills Claude Code within 2 s while the model stalls', async () => {
    const agent = await agentFor({ stall: true });
    const controller = new AbortController();
    const running = agent.run(request, controller.signal);
    await fake.received(1);
    const [pid] = processes.pids;
    expect(isRunning(pid!)).toBe(true);
    controller.abort(new Error('session deleted'));
    await expect(running).rejects.toThrow('session deleted');
    await gone([pid!], 2_000);
    await eventually(() => (processes.running === 0 ? true : undefined), 2_000, 'the place to be free');
    expect(fake.requests[0]!.aborted).toBe(true);
  });

  it('runs at most maxRunning Claude Code processes at once; the next call starts when one has exited', async () => {
    const agent = await agentFor({ stall: true });
    const calls = [0, 1, 2].map(() => {
      const controller = new AbortController();
      return { controller, done: agent.run(request, controller.signal).catch((error: unknown) => error) };
    });
    await fake.received(2);
    // The third call is not slow: it waits for a place, and only an exit hands it one.
    await waitFor(() => processes.waiting === 1, { what: 'the third call waiting for a place' });
    expect(processes.running).toBe(2);
    expect(fake.requests).toHaveLength(2);
    const [first] = processes.pids;
    calls[0]!.controller.abort(new Error('done with it'));
    await fake.received(3);
    expect(isRunning(first!)).toBe(false);
    expect(processes.running).toBe(2);
    for (const call of calls) call.controller.abort(new Error('end'));
    await Promise.all(calls.map((call) => call.done));
  });

  it('a missing Claude Code binary pauses the queue with a message that says what to install', async () => {
    fake = await startFakeAnthropic();
    processes = new ChildProcesses();
    const agent = createClaudeAgent({
      processes,
      executable: '/nonexistent/claude',
      env: { HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl },
    });
    const error = await refusalOf(agent.run(request, new AbortController().signal));
    expect(error.kind).toBe('paused');
    expect(error.message).toMatch(/CLAUDE_CODE_PATH/);
    expect(fake.requests).toHaveLength(0);
  });

  it('when the process that called query() is killed with SIGKILL, its Claude Code is gone within 2 s', async () => {
    fake = await startFakeAnthropic(scripted({ stall: true }));
    const recordDir = mkdtempSync(join(tmpdir(), 'agent-processes-'));
    const child = killOnExit(
      spawn(process.execPath, ['--import', 'tsx', owner, 'claude', recordDir, fake.baseUrl], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, HOME: home },
      }),
    );
    const line = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))));
    const { pid } = JSON.parse(line) as { pid: number };
    await fake.received(1);
    expect(isRunning(pid)).toBe(true);
    child.kill('SIGKILL');
    expect(await gone([pid], 2_000)).toBeLessThan(2_000);
    rmSync(recordDir, { recursive: true, force: true });
  });
});
