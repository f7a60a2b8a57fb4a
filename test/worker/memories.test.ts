/**
 * Memories over real HTTP, with the offline provider: a session's observations and summary come back in
 * the next session's context, by file, and in search, each once; the browse and delete routes; bad
 * input on every memory route; Host, Origin and token rules.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

const CWD = '/home/dev/projects/my-app';

/** One Claude Code session of my-app, as claude-mem's hooks drive it: a prompt, three tool uses, a stop. */
async function workOnce(
  call: TestWorker['call'],
  contentSessionId: string,
  options: { project?: string; prompt?: string; file?: string } = {},
): Promise<number> {
  const project = options.project ?? 'my-app';
  const file = options.file ?? `${CWD}/src/login.ts`;
  const init = await call('POST', '/api/sessions/init', {
    body: { contentSessionId, project, prompt: options.prompt ?? 'fix the login bug' },
  });
  expect(init.status).toBe(200);
  const sessionDbId = init.json.sessionDbId as number;
  const use = (tool_name: string, tool_input: unknown, tool_use_id: string) =>
    call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name, tool_input, tool_response: 'ok', cwd: CWD, tool_use_id: `${contentSessionId}-${tool_use_id}` },
    });
  expect((await use('Read', { file_path: file }, 'r')).json).toEqual({ status: 'queued' });
  expect((await use('Edit', { file_path: file, old_string: 'a', new_string: 'b' }, 'e')).json).toEqual({ status: 'queued' });
  expect((await use('Bash', { command: 'npm test -- login' }, 'b')).json).toEqual({ status: 'queued' });
  const summarize = await call('POST', '/api/sessions/summarize', {
    body: { contentSessionId, last_assistant_message: 'The login form now waits for the session cookie.' },
  });
  expect(summarize.json).toEqual({ status: 'queued' });
  await waitFor(async () => (await call('GET', `/api/sessions/${sessionDbId}`)).json?.queueLength === 0, {
    what: 'the session drained',
    timeoutMs: 15_000,
  });
  return sessionDbId;
}

describe('memories over HTTP', () => {
  it('gives the next session of the project its observations and summary, by file and in search, each once', async () => {
    worker = await startTestWorker(tempDir());
    const call = worker.call;
    expect((await call('GET', '/api/context/inject?projects=my-app')).text).toBe('');
    const first = await workOnce(call, 'session-one');

    // SessionStart of the next session: what claude-mem 13's context hook asks for.
    const context = await call('GET', '/api/context/inject?projects=my-app');
    expect(context.status).toBe(200);
    expect(context.headers['content-type']).toContain('text/plain');
    const text = context.text;
    expect(text).toContain('# Memories of my-app');
    for (const expected of [`Read ${CWD}/src/login.ts`, `Edit ${CWD}/src/login.ts`, 'Bash npm test -- login']) {
      expect(text.split(expected).length - 1, expected).toBe(1);
    }
    expect(text.split('Completed: The login form now waits for the session cookie.').length - 1).toBe(1);
    expect(text).toContain('Request: fix the login bug');
    expect(text).not.toContain('\u001b[');
    const colored = await call('GET', '/api/context/inject?project=my-app&colors=true');
    expect(colored.text).toContain('\u001b[1m# Memories of my-app');
    expect((await call('GET', '/api/context/inject?projects=other-app')).text).toBe('');

    // PreToolUse(Read): the absolute path and the one relative to the working directory.
    const byFile = await call(
      'GET',
      `/api/observations/by-file?path=${encodeURIComponent(`${CWD}/src/login.ts`)}&path=src%2Flogin.ts&projects=my-app&limit=40`,
    );
    expect(byFile.status).toBe(200);
    expect(byFile.json.count).toBe(2);
    expect(byFile.json.observations.map((o: { title: string }) => o.title).sort()).toEqual([
      `Edit ${CWD}/src/login.ts`,
      `Read ${CWD}/src/login.ts`,
    ]);
    const row = byFile.json.observations[0];
    expect(row).toMatchObject({ session_db_id: first, content_session_id: 'session-one', project: 'my-app', prompt_number: 1 });
    expect(typeof row.created_at_epoch).toBe('number');
    expect(JSON.parse(row.files_modified).concat(JSON.parse(row.files_read))).toEqual([`${CWD}/src/login.ts`]);
    expect(row.items).toHaveLength(1);

    // Search (claude-mem's MCP search tool, and its JSON form).
    const search = await call('GET', '/api/search?query=login&project=my-app&format=json');
    expect(search.json.observations.length).toBe(3);
    expect(search.json.sessions.map((s: { completed: string }) => s.completed)).toEqual([
      'The login form now waits for the session cookie.',
    ]);
    const index = await call('GET', '/api/search?query=login');
    expect(index.json.content[0].text).toMatch(/^Found 4 result\(s\) for "login" \(bm25 over SQLite FTS5/);
    expect((await call('GET', '/api/search?query=login&type=observations&format=json')).json.sessions).toEqual([]);
    expect((await call('GET', '/api/search?query=login&type=change&format=json')).json.observations).toHaveLength(1);

    // UserPromptSubmit's lexical injection.
    const semantic = await call('POST', '/api/context/semantic', {
      body: { q: 'why does the login test fail', project: 'my-app', limit: '5' },
    });
    expect(semantic.json.count).toBeGreaterThan(0);
    expect(semantic.json.context).toContain('## Relevant past work');
    expect((await call('POST', '/api/context/semantic', { body: { q: 'too short', project: 'my-app' } })).json).toEqual({
      context: '',
      count: 0,
    });

    // The second session's own work joins the first's; nothing of the first is repeated.
    await workOnce(call, 'session-two', { prompt: 'add a logout test', file: `${CWD}/src/logout.ts` });
    const later = (await call('GET', '/api/context/inject?projects=my-app')).text;
    expect(later.split(`Edit ${CWD}/src/login.ts`).length - 1).toBe(1);
    expect(later.split(`Edit ${CWD}/src/logout.ts`).length - 1).toBe(1);
    expect(later.indexOf('Request: add a logout test')).toBeLessThan(later.indexOf('Request: fix the login bug'));
    const metrics = (await call('GET', '/metrics')).text;
    expect(metrics).toContain('session_lifecycle_memories{kind="observation"} 6');
    expect(metrics).toContain('session_lifecycle_memories{kind="summary"} 2');
  }, 30_000);

  it('pages, shows and deletes memories: one, then a project’s', async () => {
    worker = await startTestWorker(tempDir());
    const call = worker.call;
    await workOnce(call, 'a');
    await workOnce(call, 'b', { project: 'other' });
    const page = await call('GET', '/api/observations?project=my-app&limit=2');
    expect(page.json).toMatchObject({ hasMore: true, offset: 0, limit: 2 });
    expect(page.json.items).toHaveLength(2);
    const rest = await call('GET', '/api/observations?project=my-app&limit=2&offset=2');
    expect(rest.json).toMatchObject({ hasMore: false });
    expect(rest.json.items).toHaveLength(1);
    const summaries = await call('GET', '/api/summaries?project=my-app');
    expect(summaries.json.items).toHaveLength(1);
    expect((await call('GET', '/api/observations?sessionDbId=1')).json.items).toHaveLength(3);

    const id = page.json.items[0].id as number;
    expect((await call('GET', `/api/observation/${id}`)).json).toMatchObject({ id, project: 'my-app' });
    expect((await call('DELETE', `/api/observation/${id}`)).json).toEqual({ success: true, id, kind: 'observation' });
    expect((await call('DELETE', `/api/observation/${id}`)).status).toBe(404);
    expect((await call('GET', `/api/observation/${id}`)).status).toBe(404);
    const summaryId = summaries.json.items[0].id as number;
    expect((await call('DELETE', `/api/summary/${summaryId}`)).json).toEqual({ success: true, id: summaryId, kind: 'summary' });

    expect((await call('DELETE', '/api/memories?project=other')).json).toEqual({
      success: true,
      project: 'other',
      deleted: { observations: 3, summaries: 1 },
    });
    expect((await call('GET', '/api/context/inject?projects=other')).text).toBe('');
    expect((await call('GET', '/api/observations?project=my-app')).json.items).toHaveLength(2);
  }, 30_000);

  it('answers bad input on every memory route with 400 {error, details}, and stays up', async () => {
    worker = await startTestWorker(tempDir());
    const bad: [string, string, unknown?][] = [
      ['GET', '/api/context/inject'],
      ['GET', '/api/context/inject?projects=,,'],
      ['GET', '/api/context/inject?project=p&colors=maybe'],
      ['GET', `/api/context/inject?projects=${'x'.repeat(300)}`],
      ['GET', '/api/observations/by-file'],
      ['GET', '/api/observations/by-file?path='],
      ['GET', '/api/observations/by-file?path=a.ts&limit=0'],
      ['GET', '/api/observations/by-file?path=a.ts&limit=many'],
      ['POST', '/api/context/semantic', { q: 42 }],
      ['POST', '/api/context/semantic', { q: 'a long enough prompt to search for', limit: { n: 1 } }],
      ['GET', '/api/search?limit=1000'],
      ['GET', '/api/search?offset=-1'],
      ['GET', '/api/search?format=xml'],
      ['GET', `/api/search?query=${'q'.repeat(5_000)}`],
      ['GET', '/api/observations?limit=0'],
      ['GET', '/api/summaries?sessionDbId=abc'],
      ['GET', '/api/observation/abc'],
      ['GET', '/api/summary/0'],
      ['DELETE', '/api/observation/-1'],
      ['DELETE', '/api/memories'],
      ['DELETE', '/api/memories?project=%20'],
    ];
    for (const [method, path, body] of bad) {
      const answer = await worker.call(method, path, body === undefined ? {} : { body });
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.json, `${method} ${path}`).toMatchObject({ error: expect.any(String), details: expect.anything() });
    }
    expect((await worker.call('GET', '/api/health')).status).toBe(200);
  });

  it('applies the Host, Origin and token rules to the memory routes', async () => {
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_WORKER_TOKEN: 'a-token-of-sixteen-chars' });
    const auth = { authorization: 'Bearer a-token-of-sixteen-chars' };
    for (const path of [
      '/api/context/inject?projects=p',
      '/api/search?query=x',
      '/api/observations',
      '/api/observations/by-file?path=a.ts',
    ]) {
      expect((await worker.call('GET', path)).status, path).toBe(401);
      expect((await worker.call('GET', path, { headers: auth })).status, path).toBe(200);
      expect((await worker.call('GET', path, { headers: { ...auth, host: 'evil.example' } })).status, path).toBe(403);
      expect((await worker.call('GET', path, { headers: { ...auth, origin: 'http://evil.example' } })).status, path).toBe(403);
    }
    expect((await worker.call('DELETE', '/api/memories?project=p', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
  });
});
