/**
 * Memories on Restate, over the real stack: restate-server, the session services as their own process
 * (`session-lifecycle restate-service`, the local provider), a worker on the Restate engine, and a real
 * PostgreSQL (test/support/postgres.ts) that both reach through CLAUDE_MEM_POSTGRES_URL. The service
 * process writes each reply's memories, the worker reads them: a session's observations and summary are
 * in the next session's context, by file and in search; a `kill -9` of the service process in the middle
 * of a session still stores each reply's memories exactly once (counted in PostgreSQL against the
 * session's reply events). Then, in-process, the two cases a crash test cannot time: the store commits
 * and the process dies before Restate hears of it (the invocation is retried, nothing is stored twice),
 * and PostgreSQL down while sessions work (they go on; the memories follow once it is back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSessionService } from '../../src/cluster/index.js';
import { createLocalAgent } from '../../src/index.js';
import { type MemoryStore, openPostgresMemories, type PostgresMemoryStore } from '../../src/memories/index.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../support/process.js';
import { waitFor, waitForState } from '../support/wait.js';
import { startEngine } from './support/cluster.js';
import { startRestate } from './support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from './support/service-process.js';
import { type RestateTestWorker, startRestateWorker } from './support/worker.js';

const CWD = '/home/dev/projects/restate-app';
const FILES = ['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/d.ts', 'src/e.ts'];
const REPLY_EVENT = 'xstate.done.actor.agent';

let postgres: TestPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => postgres?.stop());

const occurrences = (text: string, part: string) => text.split(part).length - 1;

/** What PostgreSQL holds for a session: the ledger's replies and the memories, by kind and title. */
async function storedFor(database: string, sessionDbId: number) {
  const count = async (table: string) =>
    Number(
      (await postgres.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE session_db_id = $1`, [sessionDbId], database))[0]!.n,
    );
  const perReply = await postgres.query<{ seq: string; n: string }>(
    'SELECT seq, count(*) AS n FROM memory_observations WHERE session_db_id = $1 GROUP BY seq',
    [sessionDbId],
    database,
  );
  const titles = (
    await postgres.query<{ title: string }>('SELECT title FROM memory_observations WHERE session_db_id = $1', [sessionDbId], database)
  )
    .map((row) => row.title)
    .sort();
  return {
    replies: await count('memory_replies'),
    observations: await count('memory_observations'),
    summaries: await count('memory_summaries'),
    replySeqs: (await postgres.query<{ seq: string }>('SELECT seq FROM memory_replies WHERE session_db_id = $1', [sessionDbId], database))
      .map((row) => Number(row.seq))
      .sort((a, b) => a - b),
    perReply: perReply.map((row) => ({ seq: Number(row.seq), observations: Number(row.n) })),
    titles,
  };
}

describe('memories on Restate: service processes write PostgreSQL, workers read it', () => {
  let restate: Awaited<ReturnType<typeof startRestate>>;
  let service: ServiceProcess | undefined;
  let servicePort: number;
  let serviceEnv: Record<string, string>;
  let worker: RestateTestWorker;
  let database: { name: string; url: string };

  beforeAll(async () => {
    database = await postgres.createDatabase();
    restate = await startRestate();
    servicePort = await freePort();
    serviceEnv = { CLAUDE_MEM_POSTGRES_URL: database.url, CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '2' };
    service = await startServiceProcess(servicePort, serviceEnv);
    await registerSessionService(restate.node().adminUrl, service.url);
    worker = await startRestateWorker({ ingressUrl: restate.node().ingressUrl, env: { CLAUDE_MEM_POSTGRES_URL: database.url } });
  });
  afterAll(async () => {
    try {
      await worker?.close();
      await service?.kill();
    } finally {
      await restate?.stop();
    }
  });

  const hooks = (contentSessionId: string, project: string) => {
    const call = (method: string, path: string, body?: unknown) => worker.call(method, path, body === undefined ? {} : { body });
    return {
      call,
      init: (prompt: string) => call('POST', '/api/sessions/init', { contentSessionId, project, prompt }),
      edit: (n: number) =>
        call('POST', '/api/sessions/observations', {
          contentSessionId,
          tool_name: 'Edit',
          tool_input: { file_path: `${CWD}/${FILES[n]}` },
          tool_response: 'ok',
          cwd: CWD,
          tool_use_id: `${contentSessionId}-edit-${n}`,
        }),
      summarize: (message: string) => call('POST', '/api/sessions/summarize', { contentSessionId, last_assistant_message: message }),
    };
  };

  /** Waits for the session to be idle with every reply's memories stored; returns its reply events. */
  const settled = async (sessionDbId: number) => {
    let replies: number[] = [];
    await waitFor(
      async () => {
        const view = (await worker.call('GET', `/api/sessions/${sessionDbId}`)).json;
        if (view?.lifecycle !== 'idle') return false;
        const events = (await worker.call('GET', `/api/sessions/${sessionDbId}/events`)).json.events as { seq: number; type: string }[];
        replies = events.filter((event) => event.type === REPLY_EVENT).map((event) => event.seq);
        return (await storedFor(database.name, sessionDbId)).replies >= replies.length;
      },
      { timeoutMs: 30_000, what: () => `session ${sessionDbId} idle with the memories of its ${replies.length} replies stored` },
    );
    return replies;
  };

  it('serves a session’s observations and summary to the next session: context, by file, search', async () => {
    const first = hooks('restate-memories-1', 'restate-app');
    const init = await first.init('refactor the parser');
    expect(init.status).toBe(200);
    const { sessionDbId } = init.json;
    for (let n = 0; n < FILES.length; n++) expect((await first.edit(n)).json).toEqual({ status: 'queued' });
    expect((await first.summarize('Parser refactored into five files.')).json).toEqual({ status: 'queued' });
    const replies = await settled(sessionDbId);

    const stored = await storedFor(database.name, sessionDbId);
    expect(stored).toMatchObject({ replies: replies.length, observations: FILES.length, summaries: 1 });
    expect(stored.replySeqs).toEqual(replies);
    expect(stored.titles).toEqual(FILES.map((file) => `Edit ${CWD}/${file}`));

    // The next session of the project starts with them.
    const next = hooks('restate-memories-2', 'restate-app');
    expect((await next.init('carry on')).status).toBe(200);
    const context = (await next.call('GET', '/api/context/inject?projects=restate-app')).text;
    for (const file of FILES) expect(occurrences(context, `Edit ${CWD}/${file}`), file).toBe(1);
    expect(occurrences(context, 'Completed: Parser refactored into five files.')).toBe(1);
    expect((await next.call('GET', '/api/context/inject?projects=another-app')).text).toBe('');

    for (const file of FILES) {
      const byFile = await next.call(
        'GET',
        `/api/observations/by-file?path=${encodeURIComponent(`${CWD}/${file}`)}&path=${encodeURIComponent(file)}&projects=restate-app`,
      );
      expect(byFile.json.count, file).toBe(1);
      expect(byFile.json.observations[0]).toMatchObject({ title: `Edit ${CWD}/${file}`, type: 'change' });
    }
    const search = await next.call('GET', '/api/search?query=edit&project=restate-app&format=json&limit=100');
    expect(search.json.observations.map((o: { title: string }) => o.title).sort()).toEqual(FILES.map((file) => `Edit ${CWD}/${file}`));
    expect(search.json.ranking).toMatch(/ts_rank/);
    const summaries = await next.call('GET', '/api/search?query=parser&type=sessions&format=json');
    expect(summaries.json.sessions).toHaveLength(1);
    const semantic = await next.call('POST', '/api/context/semantic', {
      q: 'what happened to the parser in src/c.ts',
      project: 'restate-app',
    });
    expect(semantic.json.count).toBeGreaterThan(0);
  });

  it('stores each reply’s memories once across kill -9 of the service process in the middle of a session', async () => {
    const session = hooks('restate-memories-kill', 'restate-kill');
    const init = await session.init('split the module');
    const { sessionDbId } = init.json;
    for (let n = 0; n < 3; n++) expect((await session.edit(n)).json).toEqual({ status: 'queued' });
    // Killed with work acknowledged and more to come: the next hooks wait (Restate retries) until a process serves again.
    await service!.kill();
    const restarted = startServiceProcess(servicePort, serviceEnv);
    const rest = (async () => {
      const answers = [];
      for (let n = 3; n < FILES.length; n++) answers.push((await session.edit(n)).json);
      answers.push((await session.summarize('Module split.')).json);
      return answers;
    })();
    service = await restarted;
    expect(await rest).toEqual([{ status: 'queued' }, { status: 'queued' }, { status: 'queued' }]);
    const replies = await settled(sessionDbId);

    // Once more, right after it settled: nothing is stored again by a restart.
    await service.kill();
    service = await startServiceProcess(servicePort, serviceEnv);
    const stored = await storedFor(database.name, sessionDbId);
    expect(stored).toMatchObject({ replies: replies.length, observations: FILES.length, summaries: 1 });
    expect(stored.replySeqs).toEqual(replies);
    expect(stored.titles).toEqual(FILES.map((file) => `Edit ${CWD}/${file}`));
    // Each reply's observations under its own key, never split or repeated across two.
    expect(stored.perReply.reduce((sum, reply) => sum + reply.observations, 0)).toBe(FILES.length);
    const view = (await worker.call('GET', `/api/sessions/${sessionDbId}`)).json;
    expect(view.counters).toMatchObject({ processed: FILES.length + 2, failed: 0 });
  });

  it('answers the hooks as if nothing were remembered while PostgreSQL is down, and 503 for the other memory routes', async () => {
    const context = () => worker.call('GET', '/api/context/inject?projects=restate-app');
    await postgres.kill();
    try {
      expect(await context()).toMatchObject({ status: 200, text: '' });
      expect((await worker.call('GET', '/api/observations/by-file?path=src/a.ts')).json).toEqual({ observations: [], count: 0 });
      const semantic = await worker.call('POST', '/api/context/semantic', {
        body: { q: 'what happened to the parser files', project: 'restate-app' },
      });
      expect(semantic).toMatchObject({ status: 200, json: { context: '', count: 0 } });
      for (const path of ['/api/search?query=edit', '/api/observations?project=restate-app', '/api/observation/1']) {
        const answer = await worker.call('GET', path);
        expect(answer.status, path).toBe(503);
        expect(answer.json, path).toMatchObject({ error: 'memory store unavailable' });
        expect(Number(answer.headers['retry-after']), path).toBeGreaterThan(0);
      }
    } finally {
      await postgres.restart();
    }
    await waitFor(async () => (await context()).text.includes(`Edit ${CWD}/src/a.ts`), {
      timeoutMs: 10_000,
      what: () => 'the context back once PostgreSQL is',
    });
  });

  it('without CLAUDE_MEM_POSTGRES_URL a worker on Restate remembers nothing: empty hooks, 501 for the rest', async () => {
    const forgetful = await startRestateWorker({ ingressUrl: restate.node().ingressUrl });
    try {
      expect((await forgetful.call('GET', '/api/context/inject?projects=restate-app')).text).toBe('');
      expect((await forgetful.call('GET', '/api/observations/by-file?path=src/a.ts')).json).toEqual({ observations: [], count: 0 });
      const search = await forgetful.call('GET', '/api/search?query=edit');
      expect(search.status).toBe(501);
      expect(search.json.details[0].problem).toMatch(/CLAUDE_MEM_POSTGRES_URL/);
    } finally {
      await forgetful.close();
    }
  });
});

describe('memories on Restate: the write retried, the database away', () => {
  let database: { name: string; url: string };
  let real: PostgresMemoryStore;
  let engine: Awaited<ReturnType<typeof startEngine>>;
  /** Calls of `remember` per reply key, and the replies whose first call is made to fail after the store committed. */
  const calls = new Map<string, number>();
  let failAfterCommit = false;

  beforeAll(async () => {
    database = await postgres.createDatabase();
    real = await openPostgresMemories({ connectionString: database.url });
    // The store as the service process sees it; `failAfterCommit` stands for a process that dies right after
    // PostgreSQL committed and before Restate journaled the result.
    const memories: MemoryStore = Object.create(real) as MemoryStore;
    Object.assign(memories, {
      async remember(source, parsed) {
        const key = `${source.sessionDbId}/${source.seq}`;
        const attempt = (calls.get(key) ?? 0) + 1;
        calls.set(key, attempt);
        const result = await real.remember(source, parsed);
        if (failAfterCommit && attempt === 1) throw new Error('connection lost after COMMIT');
        return result;
      },
    } satisfies Partial<MemoryStore>);
    // Quiet: the retries these tests cause on purpose are logged by Restate's SDK as warnings.
    engine = await startEngine({ agent: createLocalAgent(), memories, logger: () => {} });
  });
  afterAll(async () => {
    try {
      await engine?.stop();
    } finally {
      await real?.close();
    }
  });

  const observe = (contentSessionId: string, n: number) =>
    engine.engine.enqueue(
      { contentSessionId, project: 'retried' },
      {
        kind: 'observation',
        prompt: `<tool_name>Read</tool_name><tool_input>{"file_path":"/r/f${n}.ts"}</tool_input>`,
        toolUseId: `${contentSessionId}-${n}`,
      },
    );

  it('a write that committed but was never acknowledged is retried and stores nothing twice', async () => {
    failAfterCommit = true;
    const target = { contentSessionId: 'retried-after-commit', project: 'retried' };
    const init = await engine.engine.init(target, { prompt: 'read the files' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    for (let n = 0; n < 4; n++) expect(await observe(target.contentSessionId, n)).toMatchObject({ ok: true });
    await waitForState(engine.engine, sessionDbId, 'idle', { timeoutMs: 20_000 });
    const replies = ((await engine.engine.events(sessionDbId)) ?? [])
      .filter((event) => event.type === REPLY_EVENT)
      .map((event) => event.seq);
    await waitFor(
      async () => [...calls.entries()].filter(([key, n]) => key.startsWith(`${sessionDbId}/`) && n >= 2).length === replies.length,
      { timeoutMs: 20_000, what: () => `every reply's write retried once (${JSON.stringify([...calls])})` },
    );
    const stored = await storedFor(database.name, sessionDbId);
    expect(stored).toMatchObject({ replies: replies.length, observations: 4 });
    expect(stored.replySeqs).toEqual(replies);
    failAfterCommit = false;
  });

  it('sessions go on while PostgreSQL is down; the memories follow once it is back', async () => {
    const target = { contentSessionId: 'database-away', project: 'retried' };
    const init = await engine.engine.init(target, { prompt: 'read more files' });
    const sessionDbId = init.ok ? init.sessionDbId : -1;
    await waitFor(async () => (await storedFor(database.name, sessionDbId)).replies === 1, {
      timeoutMs: 20_000,
      what: () => 'the prompt’s reply stored',
    });
    await postgres.kill();
    for (let n = 0; n < 3; n++) expect(await observe(target.contentSessionId, n)).toMatchObject({ ok: true });
    await waitForState(engine.engine, sessionDbId, 'idle', { timeoutMs: 20_000 });
    expect((await engine.engine.get({ sessionDbId }))?.counters).toMatchObject({ processed: 4, failed: 0 });
    await postgres.restart();
    const replies = ((await engine.engine.events(sessionDbId)) ?? [])
      .filter((event) => event.type === REPLY_EVENT)
      .map((event) => event.seq);
    await waitFor(async () => (await storedFor(database.name, sessionDbId)).replies === replies.length, {
      timeoutMs: 30_000,
      what: () => 'the memories written once PostgreSQL is back',
    });
    expect(await storedFor(database.name, sessionDbId)).toMatchObject({ replies: replies.length, observations: 3, replySeqs: replies });
  });
});
