/**
 * Fallback on the shared history, in the worker process: `claude` (real Claude Code, a fake Anthropic
 * API that refuses for credit) behind which `gemini` (the real @google/genai against a fake Gemini API)
 * takes the batch with the same bounded history; the log names the provider of each reply; the worker
 * killed with SIGKILL while the fallback is answering loses nothing and answers nothing twice; after
 * the restart the first provider is tried first again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AnthropicResponse, type FakeAnthropic, scripted, startFakeAnthropic } from '../support/fake-anthropic.js';
import { type GeminiResponse, startFakeGemini } from '../support/fake-gemini.js';
import { gone, processesMatching } from '../support/pids.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

let home: string;
let dataDir: string;
let anthropic: FakeAnthropic;
let gemini: Awaited<ReturnType<typeof startFakeGemini>>;
let geminiSays: GeminiResponse = { text: '<ack>gemini took it</ack>' };
const model = `claude-haiku-4-5-fallback-${process.pid}`;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'claude-home-'));
  dataDir = mkdtempSync(join(tmpdir(), 'fallback-worker-'));
  anthropic = await startFakeAnthropic();
  gemini = await startFakeGemini(() => geminiSays);
});
afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((worker) => worker.exited));
  await gone(processesMatching(`--model=${model}`), 2_000);
  await anthropic.close();
  await gemini.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

async function startWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(
    {
      HOME: home,
      CLAUDE_MEM_DATA_DIR: dataDir,
      CLAUDE_MEM_PROVIDER: 'claude',
      CLAUDE_MEM_FALLBACK_PROVIDERS: 'gemini',
      CLAUDE_MEM_MODEL: model,
      CLAUDE_MEM_CLAUDE_AUTH_METHOD: 'api-key',
      ANTHROPIC_API_KEY: 'sk-ant-fake',
      ANTHROPIC_BASE_URL: anthropic.baseUrl,
      CLAUDE_MEM_GEMINI_API_KEY: 'AIza-fake',
      CLAUDE_MEM_GEMINI_BASE_URL: gemini.baseUrl,
    },
    await freePort(),
  );
  workers.push(worker);
  return worker;
}

interface Reply {
  readonly reply: string;
  readonly provider: string;
}
async function replies(worker: WorkerProcess): Promise<Reply[]> {
  const { events } = (await worker.call('GET', '/api/sessions/1/events')).json as {
    events: { type: string; payload: { output?: Reply } }[];
  };
  return events
    .filter((event) => event.type === 'xstate.done.actor.agent')
    .map((event) => ({ reply: event.payload.output!.reply, provider: event.payload.output!.provider }));
}

const creditTooLow: AnthropicResponse = {
  status: 400,
  message: 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
};

describe('fallback from claude to gemini, across kill -9 of the worker', () => {
  it('hands what claude refuses to gemini with the same history, logs who answered, and after a restart tries claude first again', async () => {
    anthropic.respond(scripted(creditTooLow));
    const first = await startWorker();
    await first.call('POST', '/api/sessions/init', { body: { contentSessionId: 'c1', project: 'p', prompt: 'fix the parser' } });
    await waitFor(async () => (await replies(first)).length === 1, { what: 'the first reply', timeoutMs: 20_000 });
    expect(await replies(first)).toEqual([{ reply: '<ack>gemini took it</ack>', provider: 'gemini' }]);
    expect(anthropic.requests.length).toBeGreaterThanOrEqual(1);
    // Gemini got the same bounded history claude was sent: the init prompt, as the last (only) message.
    expect(gemini.requests[0]!.body.contents.at(-1)!.parts[0]!.text).toContain('fix the parser');
    const claudeAsked = anthropic.requests.length;

    // Claude rests now: the next batch goes to gemini directly, which stalls; the worker is killed meanwhile.
    geminiSays = { stall: true };
    const observed = await first.call('POST', '/api/sessions/observations', {
      body: {
        contentSessionId: 'c1',
        tool_name: 'Read',
        tool_input: { file_path: 'src/parser.ts' },
        tool_response: 'ok',
        cwd: '/repo',
        tool_use_id: 'tu-1',
      },
    });
    expect(observed.json).toEqual({ status: 'queued' });
    await waitFor(async () => gemini.requests.length === 2, { what: 'the observation to reach gemini', timeoutMs: 20_000 });
    expect(anthropic.requests.length).toBe(claudeAsked);
    const session = (await first.call('GET', '/api/sessions/1')).json;
    expect(session.usageByProvider).toMatchObject({ gemini: { batches: 1 } });
    expect(session.usageByProvider.claude).toBeUndefined();
    first.child.kill('SIGKILL');
    await first.exited;
    await gone(processesMatching(`--model=${model}`), 2_000);

    // Both providers would answer now; a new worker has no memory of claude's rest: claude goes first again.
    anthropic.respond(scripted({ text: '<observation>read the parser</observation>' }));
    geminiSays = { text: '<observation>gemini again</observation>' };
    const second = await startWorker();
    await waitFor(async () => (await replies(second)).length === 2, {
      what: 'the observation to be answered after the restart',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await second.call('GET', '/api/sessions/1')).json.lifecycle === 'idle', {
      what: 'the session to go idle',
      timeoutMs: 20_000,
    });
    expect(await replies(second)).toEqual([
      { reply: '<ack>gemini took it</ack>', provider: 'gemini' },
      { reply: '<observation>read the parser</observation>', provider: 'claude' },
    ]);
    const after = (await second.call('GET', '/api/sessions/1')).json;
    expect(after.counters).toMatchObject({ processed: 2, failed: 0 });
    expect(after.usageByProvider).toMatchObject({ gemini: { batches: 1 }, claude: { batches: 1 } });
    // The claude call after the restart carried the same history: the init prompt, gemini's reply, the observation.
    const sent = anthropic.requests.at(-1)!.body.messages[0]!.content as unknown as { text: string }[];
    expect(sent.map((block) => block.text).filter((text) => !text.startsWith('<system-reminder>'))).toEqual([
      expect.stringContaining('fix the parser'),
      '<previous_reply>\n<ack>gemini took it</ack>\n</previous_reply>',
      expect.stringContaining('src/parser.ts'),
    ]);
    const metrics = (await second.call('GET', '/metrics')).text;
    expect(metrics).toMatch(/session_lifecycle_provider_batches_total\{provider="gemini"\} 1/);
    expect(metrics).toMatch(/session_lifecycle_provider_batches_total\{provider="claude"\} 1/);
  });
});
