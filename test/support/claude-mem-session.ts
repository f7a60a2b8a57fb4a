/**
 * The exact request sequence claude-mem 8.5.x hooks send (read from its v8.5.7 hook sources): the
 * start and ensureWorkerRunning probes, context injection, prompt submit (two calls), tool uses, and
 * the stop hook's summary, with the bodies as the hooks build them. Each answer is checked field by
 * field against what those hooks read, over HTTP only, so the same sequence runs against a worker on
 * any engine (test/worker: embedded; test/cluster: Restate). Returns every answer, in order, so two
 * engines' answers can be compared whole.
 */
import { expect } from 'vitest';
import { waitFor } from './wait.js';
import type { HttpAnswer } from './worker.js';

type Call = (method: string, path: string, options?: { body?: unknown }) => Promise<HttpAnswer>;

export interface Transcript {
  readonly answers: { readonly request: string; readonly status: number; readonly json: unknown }[];
}

/** Claude Code's session id, and the cwd its hooks run in. */
export const CLAUDE_SESSION_ID = '3f1c2a90-5b7e-4d2a-9c61-2f0e8d7b1a44';
const cwd = '/home/dev/projects/my-app';

async function recorded(transcript: Transcript, call: Call, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const answer = await call(method, path, body === undefined ? {} : { body });
  transcript.answers.push({ request: `${method} ${path}`, status: answer.status, json: answer.json ?? answer.text });
  return answer;
}

/** Which Claude Code session, and the sessionDbId the worker is expected to give it (1 for the first). */
export interface SessionUnderTest {
  readonly contentSessionId: string;
  readonly sessionDbId: number;
}
const FIRST: SessionUnderTest = { contentSessionId: CLAUDE_SESSION_ID, sessionDbId: 1 };

/** A whole Claude Code session of two prompts, as its hooks call the worker; `port` is what /sessions/:id/init must echo. */
export async function claudeMemSessionOfTwoPrompts(call: Call, port: number, under: SessionUnderTest = FIRST): Promise<Transcript> {
  const transcript: Transcript = { answers: [] };
  const session_id = under.contentSessionId;
  const id = under.sessionDbId;

  // `worker-service start` and ensureWorkerRunning(): readiness, then version.
  const readiness = await recorded(transcript, call, 'GET', '/api/readiness');
  expect(readiness.status).toBe(200);
  expect(readiness.json.status).toBe('ready');
  const version = await recorded(transcript, call, 'GET', '/api/version');
  expect(version.status).toBe(200);
  expect(version.json).toEqual({ version: '8.5.7' });
  expect((await call('GET', '/api/health')).json.status).toBe('ok');

  // SessionStart: context-hook and user-message-hook read the body as text.
  expect((await recorded(transcript, call, 'GET', '/api/context/inject?project=my-app')).status).toBe(200);
  expect((await recorded(transcript, call, 'GET', '/api/context/inject?project=my-app&colors=true')).status).toBe(200);

  // UserPromptSubmit (new-hook): /api/sessions/init, then /sessions/:id/init with the prompt, one leading slash removed.
  const first = await recorded(transcript, call, 'POST', '/api/sessions/init', {
    contentSessionId: session_id,
    project: 'my-app',
    prompt: '/fix the flaky login test',
  });
  expect(first.status).toBe(200);
  expect(first.json).toEqual({ sessionDbId: id, promptNumber: 1, skipped: false, contextInjected: false, status: 'initialized' });
  const { sessionDbId, promptNumber } = first.json;
  const started = await recorded(transcript, call, 'POST', `/sessions/${sessionDbId}/init`, {
    userPrompt: 'fix the flaky login test',
    promptNumber,
  });
  expect(started.status).toBe(200);
  expect(started.json).toEqual({ status: 'initialized', sessionDbId: id, port });

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
    const answer = await recorded(transcript, call, 'POST', '/api/sessions/observations', { contentSessionId: session_id, ...use, cwd });
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
  const summary = await recorded(transcript, call, 'POST', '/api/sessions/summarize', {
    contentSessionId: session_id,
    last_assistant_message: 'The login test no longer sleeps; it waits for the ready event. All tests pass.',
  });
  expect(summary.status).toBe(200);
  expect(summary.json).toEqual({ status: 'queued' });

  // A second prompt in the same Claude Code session: same sessionDbId, next prompt number.
  const second = await recorded(transcript, call, 'POST', '/api/sessions/init', {
    contentSessionId: session_id,
    project: 'my-app',
    prompt: 'now add a test for logout',
  });
  expect(second.json).toEqual({ sessionDbId: id, promptNumber: 2, skipped: false, contextInjected: true, status: 'initialized' });
  const continued = await recorded(transcript, call, 'POST', `/sessions/${id}/init`, {
    userPrompt: 'now add a test for logout',
    promptNumber: 2,
  });
  expect(continued.json).toEqual({ status: 'initialized', sessionDbId: id, port });

  // Everything queued was processed, each reply once: read back through the worker's own routes.
  let view: HttpAnswer | undefined;
  await waitFor(
    async () => {
      view = await call('GET', `/api/sessions/${id}`);
      return view.json?.lifecycle === 'idle';
    },
    { what: `session ${id} idle`, timeoutMs: 20_000 },
  );
  expect(view!.json).toMatchObject({ lifecycle: 'idle', queueLength: 0, promptNumber: 2 });
  expect(view!.json.counters).toMatchObject({ queued: 6, processed: 6, failed: 0 });
  const events = await call('GET', `/api/sessions/${id}/events`);
  expect(events.status).toBe(200);
  const types = (events.json.events as { type: string }[]).map((event) => event.type);
  // One reply per agent call; a call answers one item or a batch of observations queued behind another call.
  const replies = types.filter((type) => type === 'xstate.done.actor.agent').length;
  expect(replies).toBeGreaterThanOrEqual(3);
  expect(replies).toBeLessThanOrEqual(6);
  expect(view!.json.counters.messagesAppended).toBe(2 * replies);
  expect(types.filter((type) => type === 'WORK_QUEUED')).toHaveLength(4);
  expect(types[0]).toBe('xstate.init');
  const status = await recorded(transcript, call, 'GET', `/sessions/${id}/status`);
  expect(status.json).toMatchObject({ status: 'active', sessionDbId: id, project: 'my-app', queueLength: 0, lifecycle: 'idle' });
  return transcript;
}

/** A private prompt answered as claude-mem does, and nothing of it recorded. */
export async function claudeMemPrivatePrompt(call: Call, under: SessionUnderTest = FIRST): Promise<Transcript> {
  const transcript: Transcript = { answers: [] };
  const id = under.sessionDbId;
  const answer = await recorded(transcript, call, 'POST', '/api/sessions/init', {
    contentSessionId: under.contentSessionId,
    project: 'my-app',
    prompt: '<private>the staging password is hunter2</private>',
  });
  expect(answer.json).toEqual({ sessionDbId: id, promptNumber: 1, skipped: true, reason: 'private' });
  const use = await recorded(transcript, call, 'POST', '/api/sessions/observations', {
    contentSessionId: under.contentSessionId,
    tool_name: 'Bash',
    tool_input: { command: 'ls' },
    tool_response: { stdout: '' },
    cwd,
  });
  expect(use.json).toEqual({ status: 'skipped', reason: 'private' });
  const summary = await recorded(transcript, call, 'POST', '/api/sessions/summarize', {
    contentSessionId: under.contentSessionId,
    last_assistant_message: 'done',
  });
  expect(summary.json).toEqual({ status: 'skipped', reason: 'private' });
  const events = await recorded(transcript, call, 'GET', `/api/sessions/${id}/events`);
  expect(events.json).toEqual({ sessionDbId: id, events: [] });
  const stored = await recorded(transcript, call, 'GET', `/api/sessions/${id}`);
  expect(stored.status).toBe(200);
  expect(stored.json).toMatchObject({
    sessionDbId: id,
    contentSessionId: under.contentSessionId,
    project: 'my-app',
    lifecycle: 'disposed',
  });
  expect(JSON.stringify(stored.json)).not.toContain('hunter2');
  const status = await recorded(transcript, call, 'GET', `/sessions/${id}/status`);
  expect(status.json).toMatchObject({ status: 'not_found', sessionDbId: id, project: 'my-app', lifecycle: 'disposed' });
  return transcript;
}

/** A transcript with what differs between two runs by nature (times, the port) replaced, for comparing engines. */
export function comparable(transcript: Transcript, port: number): unknown {
  const TIMES = new Set(['createdAt', 'uptime', 'at', 'lastActivityAt', 'idleDeadline', 'graceDeadline', 'since']);
  return JSON.parse(JSON.stringify(transcript.answers), (key, value) => {
    if (TIMES.has(key) && typeof value === 'number') return '<time>';
    if (key === 'port' && value === port) return '<port>';
    return value;
  });
}
