/**
 * The worker as its own process, in real (short) time: a session goes idle → expiring → disposed,
 * seen through the status routes and its event stream; a SIGTERM stops the process cleanly (exit 0);
 * a new process recovers an idle session with what remained of its deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startChatServer } from '../support/chat-server.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const running: WorkerProcess[] = [];
afterEach(() => {
  for (const worker of running.splice(0)) worker.child.kill('SIGKILL');
});

const TTL_MINUTES = 0.05; // 3 s
const GRACE_SECONDS = 0.5;

async function start(env: Record<string, string>, port: number) {
  const worker = await startWorkerProcess(env, port);
  running.push(worker);
  return worker;
}

describe('end to end, with real time', () => {
  it('init → observations → summarize → idle → expiring → disposed; a restart keeps an idle session and its deadline', async () => {
    const port = await freePort();
    const env = {
      CLAUDE_MEM_DATA_DIR: tempDir(),
      CLAUDE_MEM_SESSION_TTL_MINUTES: String(TTL_MINUTES),
      CLAUDE_MEM_SESSION_GRACE_SECONDS: String(GRACE_SECONDS),
    };
    let worker = await start(env, port);
    const body = (extra: object) => ({ body: { contentSessionId: 'e2e', ...extra } });
    expect((await worker.call('POST', '/api/sessions/init', body({ project: 'demo', prompt: 'fix the bug' }))).json).toMatchObject({
      sessionDbId: 1,
    });
    await worker.call('POST', '/sessions/1/init', { body: { userPrompt: 'fix the bug', promptNumber: 1 } });
    for (const tool of ['Read', 'Edit', 'Bash']) {
      expect(
        (
          await worker.call(
            'POST',
            '/api/sessions/observations',
            body({ tool_name: tool, tool_input: { file_path: 'a.ts' }, tool_response: 'ok', cwd: '/repo' }),
          )
        ).json,
      ).toEqual({ status: 'queued' });
    }
    expect((await worker.call('POST', '/api/sessions/summarize', body({ last_assistant_message: 'Fixed.' }))).json).toEqual({
      status: 'queued',
    });

    const idle = await waitFor(
      async () => {
        const value = await (() => worker.call('GET', '/api/sessions/1'))();
        return ((a) => a.json.lifecycle === 'idle')(value) && value;
      },
      { what: 'idle', timeoutMs: 15_000 },
    );
    const deadline: number = idle.json.idleDeadline;
    expect(deadline).toBeGreaterThan(Date.now());
    expect((await worker.call('GET', '/sessions/1/status')).json).toMatchObject({ status: 'active', lifecycle: 'idle', queueLength: 0 });

    // Restart while idle: SIGTERM, a clean exit, a new process.
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.lines.some((line) => line.includes('worker stopped'))).toBe(true);
    worker = await start(env, port);
    const restored = (await worker.call('GET', '/api/sessions/1')).json;
    // The prompt and its reply; the three observations, gathered (the summarize closed their batch), and one reply; the summary.
    expect(restored).toMatchObject({ lifecycle: 'idle', idleDeadline: deadline, historyLength: 6 });
    expect(Date.now()).toBeLessThan(deadline);

    await waitFor(
      async () => {
        const value = await (() => worker.call('GET', '/api/sessions/1'))();
        return ((a) => a.json.lifecycle !== 'idle')(value) && value;
      },
      { what: 'expiring', timeoutMs: 15_000 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(deadline);
    await waitFor(
      async () => {
        const value = await (() => worker.call('GET', '/sessions/1/status'))();
        return ((a) => a.json.status === 'not_found')(value) && value;
      },
      { what: 'disposal', timeoutMs: 15_000 },
    );

    const events = (await worker.call('GET', '/api/sessions/1/events')).json.events as { type: string; at: number }[];
    const types = events.map((e) => e.type);
    expect(types.slice(-3)).toEqual(['RECOVER', 'xstate.after.idleDeadline.session.idle', 'xstate.after.graceDeadline.session.expiring']);
    const replies = events.filter((e) => e.type === 'xstate.done.actor.agent') as unknown as {
      payload: { output: { answers: { kind: string }[] } };
    }[];
    expect(replies.map((reply) => reply.payload.output.answers.map((item) => item.kind))).toEqual([
      ['prompt'],
      ['observation', 'observation', 'observation'],
      ['summarize'],
    ]);
    expect(events.at(-2)!.at).toBeGreaterThanOrEqual(deadline);
    expect((await worker.call('GET', '/api/sessions/1')).json).toMatchObject({
      lifecycle: 'disposed',
      stream: { status: 'disposed', disposal: { reason: 'ttl' } },
    });
  }, 60_000);

  it('on SIGTERM, aborts an agent call that will not finish within the drain period, and exits 0', async () => {
    const chat = await startChatServer([{ hang: true }]);
    try {
      const port = await freePort();
      const worker = await start(
        {
          CLAUDE_MEM_DATA_DIR: tempDir(),
          CLAUDE_MEM_PROVIDER: 'openai-compatible',
          CLAUDE_MEM_OPENAI_BASE_URL: chat.baseUrl,
          CLAUDE_MEM_MODEL: 'm',
          CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS: '0.5',
        },
        port,
      );
      await worker.call('POST', '/api/sessions/init', { body: { contentSessionId: 'c', project: 'p', prompt: 'p' } });
      await waitFor(
        async () => {
          const value = await (async () => chat.requests.length)();
          return ((n) => n === 1)(value) && value;
        },
        { what: 'the provider call', timeoutMs: 15_000 },
      );
      const stopping = Date.now();
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(5_000);
      await waitFor(
        async () => {
          const value = await (async () => chat.requests[0]!.aborted)();
          return ((aborted) => aborted)(value) && value;
        },
        { what: 'the call to be aborted', timeoutMs: 15_000 },
      );
    } finally {
      await chat.close();
    }
  }, 30_000);
});
