/**
 * The exact request sequence claude-mem 8.5.x hooks send (read from its v8.5.7 hook sources): the
 * start and ensureWorkerRunning probes, context injection, prompt submit (two calls), tool uses,
 * and the stop hook's summary, with the bodies as the hooks build them. Each answer is checked
 * field by field against what those hooks read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../support/tmp.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

/** Claude Code's session id, and the cwd its hooks run in. */
const session_id = '3f1c2a90-5b7e-4d2a-9c61-2f0e8d7b1a44';
const cwd = '/home/dev/projects/my-app';

describe('claude-mem 8.5.x hooks against this worker', () => {
  it('get the answers they read, in order, for a whole session of two prompts', async () => {
    worker = await startTestWorker(tempDir());
    const call = worker.call;

    // `worker-service start` and ensureWorkerRunning(): readiness, then version.
    const readiness = await call('GET', '/api/readiness');
    expect(readiness.status).toBe(200);
    expect(readiness.json.status).toBe('ready');
    const version = await call('GET', '/api/version');
    expect(version.status).toBe(200);
    expect(version.json).toEqual({ version: '8.5.7' });
    expect((await call('GET', '/api/health')).json.status).toBe('ok');

    // SessionStart: context-hook and user-message-hook read the body as text.
    const context = await call('GET', '/api/context/inject?project=my-app');
    expect(context.status).toBe(200);
    const coloured = await call('GET', '/api/context/inject?project=my-app&colors=true');
    expect(coloured.status).toBe(200);

    // UserPromptSubmit (new-hook): /api/sessions/init, then /sessions/:id/init with the prompt, one leading slash removed.
    const first = await call('POST', '/api/sessions/init', {
      body: { contentSessionId: session_id, project: 'my-app', prompt: '/fix the flaky login test' },
    });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ sessionDbId: 1, promptNumber: 1, skipped: false });
    const { sessionDbId, promptNumber } = first.json;
    const started = await call('POST', `/sessions/${sessionDbId}/init`, { body: { userPrompt: 'fix the flaky login test', promptNumber } });
    expect(started.status).toBe(200);
    expect(started.json).toEqual({ status: 'initialized', sessionDbId: 1, port: worker.port });

    // PostToolUse (save-hook): tool_input and tool_response passed through as Claude Code gives them; no tool_use_id.
    const toolUses = [
      {
        tool_name: 'Read',
        tool_input: { file_path: `${cwd}/test/login.test.ts` },
        tool_response: { type: 'text', file: { content: 'it("logs in", …)' } },
      },
      {
        tool_name: 'Bash',
        tool_input: { command: 'npm test -- login', description: 'Run the login tests' },
        tool_response: { stdout: '1 failing', stderr: '', interrupted: false },
      },
      {
        tool_name: 'Edit',
        tool_input: { file_path: `${cwd}/src/login.ts`, old_string: 'await sleep(10)', new_string: 'await ready' },
        tool_response: { filePath: `${cwd}/src/login.ts`, structuredPatch: [] },
      },
      { tool_name: 'TodoWrite', tool_input: { todos: [] }, tool_response: 'ok' },
    ];
    const answers = [];
    for (const use of toolUses) {
      const answer = await call('POST', '/api/sessions/observations', { body: { contentSessionId: session_id, ...use, cwd } });
      expect(answer.status).toBe(200);
      answers.push(answer.json);
    }
    expect(answers).toEqual([
      { status: 'queued' },
      { status: 'queued' },
      { status: 'queued' },
      { status: 'skipped', reason: 'tool_excluded' },
    ]);

    // Stop (summary-hook): the last assistant message of the transcript.
    const summary = await call('POST', '/api/sessions/summarize', {
      body: {
        contentSessionId: session_id,
        last_assistant_message: 'The login test no longer sleeps; it waits for the ready event. All tests pass.',
      },
    });
    expect(summary.status).toBe(200);
    expect(summary.json).toEqual({ status: 'queued' });

    // A second prompt in the same Claude Code session: same sessionDbId, next prompt number.
    const second = await call('POST', '/api/sessions/init', {
      body: { contentSessionId: session_id, project: 'my-app', prompt: 'now add a test for logout' },
    });
    expect(second.json).toEqual({ sessionDbId: 1, promptNumber: 2, skipped: false });
    expect((await call('POST', '/sessions/1/init', { body: { userPrompt: 'now add a test for logout', promptNumber: 2 } })).json).toEqual({
      status: 'initialized',
      sessionDbId: 1,
      port: worker.port,
    });

    // Everything queued was processed, each reply once.
    for (let i = 0; i < 200 && worker.registry.get({ sessionDbId: 1 })?.lifecycle === 'active'; i++)
      await new Promise((r) => setTimeout(r, 5));
    const view = worker.registry.get({ sessionDbId: 1 })!;
    expect(view).toMatchObject({ lifecycle: 'idle', queueLength: 0, promptNumber: 2 });
    expect(view.counters).toMatchObject({ queued: 6, processed: 6, failed: 0 });
    const replies = worker.store.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent');
    expect(replies).toHaveLength(6);
  });

  it('answer a private prompt as claude-mem does, and record nothing of it', async () => {
    worker = await startTestWorker(tempDir());
    const answer = await worker.call('POST', '/api/sessions/init', {
      body: { contentSessionId: session_id, project: 'my-app', prompt: '<private>the staging password is hunter2</private>' },
    });
    expect(answer.json).toEqual({ sessionDbId: 1, promptNumber: 1, skipped: true, reason: 'private' });
    const use = await worker.call('POST', '/api/sessions/observations', {
      body: { contentSessionId: session_id, tool_name: 'Bash', tool_input: { command: 'ls' }, tool_response: { stdout: '' }, cwd },
    });
    expect(use.json).toEqual({ status: 'skipped', reason: 'private' });
    expect(worker.store.readEvents(1)).toEqual([]);
    expect(JSON.stringify(worker.store.getSession(1))).not.toContain('hunter2');
  });
});
