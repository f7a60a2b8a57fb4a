/**
 * The `claude` provider in the worker, with the real Claude Code binary against a fake Anthropic API:
 * every way a call ends, checked by looking for the Claude Code processes themselves (the records in
 * the data directory name them; /proc says whether they run): answered, deleted, timed out, shut down,
 * and the worker killed with SIGKILL (then the next start answers the batch once, and leaves nothing).
 * An idle or expiring session never holds a process: one lives only for its call. Eviction and memory
 * pressure take only idle or expiring sessions, so they never meet one either.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, scripted, startFakeAnthropic } from '../support/fake-anthropic.js';
import { eventually, gone, isRunning, processesMatching } from '../support/pids.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

let home: string;
let fake: FakeAnthropic;
let dataDir: string;
const workers: WorkerProcess[] = [];
// A model name of this file alone: its Claude Code processes are the ones whose command line has it.
const model = `claude-haiku-4-5-test-${process.pid}`;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'claude-home-'));
  fake = await startFakeAnthropic(scripted({ text: '<ack>noted</ack>' }));
});
afterEach(async () => {
  for (const worker of workers.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker.exited;
  }
  // Whatever a test left: nothing may run after it.
  await gone(processesMatching(`--model=${model}`), 2_000);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await fake.close();
  rmSync(home, { recursive: true, force: true });
});

async function startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(
    {
      HOME: home,
      CLAUDE_MEM_DATA_DIR: dataDir,
      CLAUDE_MEM_PROVIDER: 'claude',
      CLAUDE_MEM_MODEL: model,
      CLAUDE_MEM_CLAUDE_AUTH_METHOD: 'api-key',
      ANTHROPIC_API_KEY: 'sk-ant-fake',
      ANTHROPIC_BASE_URL: fake.baseUrl,
      ...env,
    },
    await freePort(),
  );
  workers.push(worker);
  return worker;
}

/** The pids of the Claude Code processes the worker has recorded as running. */
function recorded(): number[] {
  const dir = join(dataDir, 'agent-processes');
  try {
    return readdirSync(dir).map((name) => (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { pid: number }).pid);
  } catch {
    return [];
  }
}

const running = () => processesMatching(`--model=${model}`);
/** A record goes when the worker has seen its process exit, a moment after /proc stops showing it running. */
const noneRecorded = () => eventually(() => (recorded().length === 0 ? true : undefined), 2_000, 'the records to be cleared');
const init = (worker: WorkerProcess, id: string) =>
  worker.call('POST', '/api/sessions/init', { body: { contentSessionId: id, project: 'p', prompt: `work on ${id}` } });

const untilIdle = (worker: WorkerProcess, id: number) =>
  waitFor(async () => (await worker.call('GET', `/api/sessions/${id}`)).json.lifecycle === 'idle', {
    what: `session ${id} idle`,
    timeoutMs: 15_000,
  });

async function stalledCall(worker: WorkerProcess, id: string): Promise<number> {
  const before = fake.requests.length;
  expect((await init(worker, id)).status).toBe(200);
  await fake.received(before + 1);
  return eventually(() => running()[0], 5_000, 'a Claude Code process');
}

describe('claude provider in the worker: no Claude Code process outlives its reason', () => {
  it('answered: the reply is logged with its provider, model and cache usage, and the process is gone', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'claude-worker-'));
    fake.respond(
      scripted({
        text: '<ack>noted</ack>',
        usage: { input_tokens: 30, output_tokens: 6, cache_read_input_tokens: 500, cache_creation_input_tokens: 200 },
      }),
    );
    const worker = await startWorker();
    const { json } = await init(worker, 'answered');
    const id = json.sessionDbId as number;
    await untilIdle(worker, id);
    const session = (await worker.call('GET', `/api/sessions/${id}`)).json;
    expect(session).toMatchObject({
      lifecycle: 'idle',
      counters: { processed: 1, inputTokens: 30, outputTokens: 6, cacheReadTokens: 500, cacheWriteTokens: 200 },
      usageByProvider: { claude: { batches: 1, inputTokens: 30, outputTokens: 6, cacheReadTokens: 500, cacheWriteTokens: 200 } },
    });
    const events = (await worker.call('GET', `/api/sessions/${id}/events`)).json.events as {
      type: string;
      payload: { output?: unknown };
    }[];
    const replies = events.filter((event) => event.type === 'xstate.done.actor.agent').map((event) => event.payload.output);
    expect(replies).toEqual([expect.objectContaining({ reply: '<ack>noted</ack>', provider: 'claude', model })]);
    const metrics = (await worker.call('GET', '/metrics')).text;
    expect(metrics).toMatch(/session_lifecycle_provider_tokens_total\{provider="claude",kind="cache_read"\} 500/);
    expect(metrics).toMatch(/session_lifecycle_provider_batches_total\{provider="claude"\} 1/);
    // Idle: no process, none recorded.
    await gone(running(), 2_000);
    await noneRecorded();
  });

  it('DELETE of the session kills its Claude Code within 2 s; at most CLAUDE_MEM_MAX_CONCURRENT_AGENTS run at once', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'claude-worker-'));
    fake.respond(scripted({ stall: true }));
    const worker = await startWorker({ CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '1' });
    const pid = await stalledCall(worker, 'deleted');
    expect(recorded()).toEqual([pid]);
    // A second session waits for the slot (its state says so, and a session waiting for a slot has no agent call): still one process.
    expect((await init(worker, 'waiting')).status).toBe(200);
    await waitFor(async () => (await worker.call('GET', '/api/sessions/2')).json.state === 'active.waiting', {
      what: 'the second session waiting for the slot',
    });
    expect(running()).toEqual([pid]);
    const before = fake.requests.length;
    expect((await worker.call('DELETE', '/sessions/1')).json).toEqual({ status: 'deleted' });
    expect(await gone([pid], 2_000)).toBeLessThan(2_000);
    // The waiting session gets the slot and its own process, and still only one runs.
    await fake.received(before + 1);
    const next = await eventually(() => running().find((other) => other !== pid), 5_000, 'the next session’s process');
    expect(running()).toEqual([next]);
    expect((await worker.call('DELETE', '/sessions/2')).status).toBe(200);
    await gone([next], 2_000);
    await noneRecorded();
  });

  it('the agent timeout kills the call’s Claude Code within 2 s, and the retry runs a new one', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'claude-worker-'));
    fake.respond(scripted({ stall: true }));
    const worker = await startWorker({ CLAUDE_MEM_AGENT_TIMEOUT_SECONDS: '3' });
    const before = fake.requests.length;
    const pid = await stalledCall(worker, 'timeout');
    // The timeout ends the call; the retry (after a 1 s backoff) asks again in a new process.
    await gone([pid], 3_000 + 2_000);
    await fake.received(before + 2);
    const retry = await eventually(() => running().find((other) => other !== pid), 5_000, 'the retry’s process');
    expect(isRunning(pid)).toBe(false);
    expect(running()).toEqual([retry]);
  });

  it('shutdown (SIGTERM) aborts the stalled call after the drain: Claude Code is gone and nothing is recorded', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'claude-worker-'));
    fake.respond(scripted({ stall: true }));
    const worker = await startWorker({ CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS: '0.5' });
    const pid = await stalledCall(worker, 'shutdown');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(isRunning(pid)).toBe(false);
    expect(running()).toEqual([]);
    await noneRecorded();
  });

  it('kill -9 of the worker: its Claude Code is gone within 2 s; the next start answers the batch once and leaves nothing', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'claude-worker-'));
    fake.respond(scripted({ stall: true }));
    const first = await startWorker();
    const pid = await stalledCall(first, 'killed');
    expect(recorded()).toEqual([pid]);
    first.child.kill('SIGKILL');
    expect(await gone([pid], 2_000)).toBeLessThan(2_000);
    // Nobody was left to clear the record: the next start does.
    expect(recorded()).toEqual([pid]);
    fake.respond(scripted({ text: '<ack>after the restart</ack>' }));
    const second = await startWorker();
    expect(recorded().filter((other) => other === pid)).toEqual([]);
    await untilIdle(second, 1);
    const events = (await second.call('GET', '/api/sessions/1/events')).json.events as {
      type: string;
      payload: { output?: { reply: string } };
    }[];
    const replies = events.filter((event) => event.type === 'xstate.done.actor.agent').map((event) => event.payload.output!.reply);
    expect(replies).toEqual(['<ack>after the restart</ack>']);
    await gone(running(), 2_000);
    await noneRecorded();
  });
});
