/**
 * The issue's "done when", over real HTTP with the worker as its own process: a session's observations
 * and summary are in the next session's context, by file and in search after `kill -9` and a restart,
 * each exactly once, however far the agent had got when the process died.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const tempDir = useTempDir();
const running: WorkerProcess[] = [];
afterEach(() => {
  for (const worker of running.splice(0)) worker.child.kill('SIGKILL');
});

const CWD = '/home/dev/projects/kill-app';
const FILES = ['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/d.ts', 'src/e.ts'];

async function start(env: Record<string, string>, port: number): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(env, port);
  running.push(worker);
  return worker;
}

async function kill(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
}

const occurrences = (text: string, part: string) => text.split(part).length - 1;

describe('memories across kill -9', () => {
  it('serves a session’s observations and summary once each after SIGKILL and restarts', async () => {
    const port = await freePort();
    const env = { CLAUDE_MEM_DATA_DIR: tempDir() };
    let worker = await start(env, port);
    const call = (method: string, path: string, body?: unknown) => worker.call(method, path, body === undefined ? {} : { body });
    const session = { contentSessionId: 'killed-session' };
    expect((await call('POST', '/api/sessions/init', { ...session, project: 'kill-app', prompt: 'refactor the parser' })).status).toBe(200);
    for (const [n, file] of FILES.entries()) {
      const answer = await call('POST', '/api/sessions/observations', {
        ...session,
        tool_name: 'Edit',
        tool_input: { file_path: `${CWD}/${file}` },
        tool_response: 'ok',
        cwd: CWD,
        tool_use_id: `edit-${n}`,
      });
      expect(answer.json).toEqual({ status: 'queued' });
    }
    expect(
      (await call('POST', '/api/sessions/summarize', { ...session, last_assistant_message: 'Parser refactored into five files.' })).json,
    ).toEqual({
      status: 'queued',
    });
    // Killed as soon as the last hook was acknowledged, wherever the agent is in the queue.
    await kill(worker);

    worker = await start(env, port);
    await waitFor(async () => (await call('GET', '/api/sessions/1')).json?.queueLength === 0, {
      what: 'the recovered session to drain',
      timeoutMs: 20_000,
    });
    const check = async () => {
      const context = (await call('GET', '/api/context/inject?projects=kill-app')).text;
      for (const file of FILES) expect(occurrences(context, `Edit ${CWD}/${file}`), file).toBe(1);
      expect(occurrences(context, 'Completed: Parser refactored into five files.')).toBe(1);
      for (const file of FILES) {
        const byFile = await call(
          'GET',
          `/api/observations/by-file?path=${encodeURIComponent(`${CWD}/${file}`)}&path=${encodeURIComponent(file)}&projects=kill-app`,
        );
        expect(byFile.json.count, file).toBe(1);
      }
      const search = await call('GET', '/api/search?query=edit&project=kill-app&format=json&limit=100');
      expect(search.json.observations.map((o: { title: string }) => o.title).sort()).toEqual(FILES.map((file) => `Edit ${CWD}/${file}`));
      const summaries = await call('GET', '/api/search?query=parser&type=sessions&format=json');
      expect(summaries.json.sessions).toHaveLength(1);
    };
    await check();

    // Killed again with nothing in flight, and once more right after a restart: nothing is stored twice.
    await kill(worker);
    worker = await start(env, port);
    await kill(worker);
    worker = await start(env, port);
    await check();
    expect((await call('GET', '/api/observations?project=kill-app&limit=100')).json.items).toHaveLength(FILES.length);
  }, 90_000);
});
