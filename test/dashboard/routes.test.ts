/**
 * The dashboard's routes over real HTTP: the page and its files (types, caching, compression), the
 * session page's data (live, disposed, wrong input), and the same Host, Origin and token checks as the API.
 */
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTimeline, sessionTimeline } from '../../src/replay/index.js';
import { openStream } from '../support/sse.js';
import { useTempDir } from '../support/tmp.js';
import { waitForEngine } from '../support/wait.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

const init = (w: TestWorker, contentSessionId: string, project = 'my-app') =>
  w.call('POST', '/api/sessions/init', { body: { contentSessionId, project, prompt: `work on ${contentSessionId}` } });

const idle = (w: TestWorker, sessionDbId: number) =>
  waitForEngine(w.engine, () => w.registry.get({ sessionDbId })?.lifecycle === 'idle', { what: `session ${sessionDbId} idle` });

/** The files the page names, as the browser would find them. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/\/dashboard\/assets\/([\w.-]+)/g)].map((m) => m[1]!);
}

describe('the dashboard page and its files', () => {
  it('serves the page at / and /dashboard, revalidated by ETag, compressed when asked, locked down by CSP', async () => {
    worker = await startTestWorker(tempDir());
    const page = await worker.call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.text).toContain('<title>session-lifecycle');
    // Nothing from elsewhere: every src and href is this worker's (or the empty data: icon).
    for (const [, url] of page.text.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url).toMatch(/^(\/|#|data:,$)/);

    const etag = String(page.headers.etag);
    expect((await worker.call('GET', '/dashboard')).text).toBe(page.text);
    expect((await worker.call('GET', '/', { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await worker.call('HEAD', '/')).status).toBe(200);

    const gzipped = await worker.call('GET', '/', { headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers.vary).toBe('accept-encoding');
  });

  it('serves each file the page names with its type, cached for a year under a content-hashed name; others are 404', async () => {
    worker = await startTestWorker(tempDir());
    const files = assetsOf((await worker.call('GET', '/')).text);
    expect(files.map((f) => f.replace(/-[0-9a-f]{10}\./, '.')).sort()).toEqual(['app.js', 'statechart.svg', 'style.css']);
    const types: Record<string, string> = {
      js: 'text/javascript; charset=utf-8',
      css: 'text/css; charset=utf-8',
      svg: 'image/svg+xml; charset=utf-8',
    };
    for (const file of files) {
      const answer = await worker.call('GET', `/dashboard/assets/${file}`);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe(types[file.split('.').pop()!]);
      expect(answer.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      const gzipped = await worker.call('GET', `/dashboard/assets/${file}`, { headers: { 'accept-encoding': 'gzip' } });
      expect(gzipped.headers['content-encoding']).toBe('gzip');
    }
    expect((await worker.call('GET', '/dashboard/assets/app.js')).status).toBe(404);
    expect((await worker.call('GET', '/dashboard/assets/..%2Fmanifest.json')).status).toBe(404);
    expect((await worker.call('GET', '/dashboard/assets/')).status).toBe(404);
  });

  it('sends compressed files that decompress to the very file', async () => {
    worker = await startTestWorker(tempDir());
    const [script] = assetsOf((await worker.call('GET', '/')).text).filter((f) => f.endsWith('.js'));
    const plain = await worker.call('GET', `/dashboard/assets/${script}`);
    const raw = await new Promise<Buffer>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(
          { host: '127.0.0.1', port: worker!.port, path: `/dashboard/assets/${script}`, headers: { 'accept-encoding': 'gzip' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
          },
        ).on('error', reject),
      );
    });
    expect(raw.length).toBeLessThan(Buffer.byteLength(plain.text));
    expect(gunzipSync(raw).toString('utf8')).toBe(plain.text);
  });
});

describe("the session page's data", () => {
  it('shows a live session: state, deadline, bounded history, and the timeline `npm run replay` prints', async () => {
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '4' });
    await init(worker, 'detail-1');
    for (const tool of ['Read', 'Bash', 'Grep']) {
      await worker.call('POST', '/api/sessions/observations', {
        body: { contentSessionId: 'detail-1', tool_name: tool, tool_input: { pattern: 'x' }, tool_response: 'ok', cwd: '/r' },
      });
    }
    await idle(worker, 1);
    const detail = (await worker.call('GET', '/dashboard/api/sessions/1')).json;
    expect(detail).toMatchObject({ sessionDbId: 1, contentSessionId: 'detail-1', project: 'my-app', lifecycle: 'idle', state: 'idle' });
    expect(detail.live.next.kind).toBe('expiring');
    expect(detail.live.next.at).toBe(worker.registry.get({ sessionDbId: 1 })!.idleDeadline);
    // Bounded: the pinned init prompt and the newest messages, within the configured 4.
    expect(detail.history.maxMessages).toBe(4);
    expect(detail.history.messages.length).toBeLessThanOrEqual(4);
    expect(detail.history.messages[0]).toMatchObject({ role: 'user', pinned: true });
    const timeline = sessionTimeline(worker.store, 1)!;
    expect(detail.timeline.total).toBe(timeline.entries.length);
    expect(detail.timeline.source).toBe('log');
    expect(detail.timeline.entries.map((e: { seq: number; state: string; detail: string }) => [e.seq, e.state, e.detail])).toEqual(
      timeline.entries.map((e) => [e.seq, e.state, e.detail]),
    );
    const printed = formatTimeline(timeline);
    for (const entry of detail.timeline.entries) expect(printed).toContain(entry.event);
    // Who answered each batch, and what it cost: the local provider, four batches, no tokens reported.
    expect(detail.live.costByProvider).toEqual({
      local: { batches: 4, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    const replies = detail.timeline.entries.filter((e: { event: string }) => e.event === 'agent done');
    expect(replies.length).toBeGreaterThan(0);
    for (const reply of replies) expect(reply.detail).toMatch(/^reply by local \(/);
  });

  it('shows a disposed session from the log, with why it went away', async () => {
    worker = await startTestWorker(tempDir());
    await init(worker, 'gone');
    await idle(worker, 1);
    await worker.call('DELETE', '/sessions/1');
    const detail = (await worker.call('GET', '/dashboard/api/sessions/1')).json;
    expect(detail).toMatchObject({ lifecycle: 'disposed', state: 'disposed', live: null, stream: { status: 'disposed' } });
    expect(detail.disposal).toMatchObject({ reason: 'deleted', droppedItems: 0 });
    expect(detail.history.messages).toEqual([]);
    expect(detail.timeline.entries.at(-1)).toMatchObject({ event: 'DELETE', state: 'disposed', detail: 'disposed: deleted' });
  });

  it('400 for a malformed id, 404 for a session the log does not know', async () => {
    worker = await startTestWorker(tempDir());
    for (const bad of ['abc', '0', '-1', '1.5', '01', '99999999999999999999']) {
      const answer = await worker.call('GET', `/dashboard/api/sessions/${bad}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.json.error).toBe('invalid sessionDbId');
      expect(answer.json.details).toEqual([{ field: 'sessionDbId', problem: `expected a positive integer, got ${JSON.stringify(bad)}` }]);
    }
    const unknown = await worker.call('GET', '/dashboard/api/sessions/42');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'session not found', details: [{ problem: 'no session 42 in the log' }] });
  });
});

describe('the stream and the worker', () => {
  it('sends a snapshot, then updates as sessions change; ends its streams when the worker stops', async () => {
    worker = await startTestWorker(tempDir());
    const stream = await openStream(worker.port);
    const snapshot = await stream.next((m) => m.event === 'snapshot');
    expect(snapshot.data.worker).toMatchObject({
      maxActiveSessions: 100,
      maxConcurrentAgents: 2,
      memorySampleMs: 5_000,
      windowMs: 3_600_000,
    });
    expect(snapshot.data.worker.memoryLimitBytes).toBe(Math.round(snapshot.data.worker.heapLimitBytes * 0.8));
    expect(snapshot.data.memory.length).toBeGreaterThan(0);
    await init(worker, 'streamed');
    const update = await stream.next(
      (m) => m.event === 'update' && m.data.upserts.some((r: { lifecycle: string }) => r.lifecycle === 'idle'),
    );
    expect(update.data.upserts[0]).toMatchObject({
      sessionDbId: 1,
      contentSessionId: 'streamed',
      state: 'idle',
      next: { kind: 'expiring' },
    });
    await worker.call('DELETE', '/sessions/1');
    const removed = await stream.next((m) => m.event === 'update' && m.data.removed.includes(1));
    expect(removed.data.recentDisposals).toMatchObject([{ sessionDbId: 1, reason: 'deleted' }]);
    expect(removed.data.disposals[0].counts.deleted).toBe(1);
    // An open stream does not hold the worker up.
    await worker.stop({ drainMs: 0 });
    await stream.closed;
    worker = undefined;
  });
});

describe('the same security as the API', () => {
  it('403 for a foreign Host (DNS rebinding) on the page and the stream; 403 for a cross-origin stream', async () => {
    worker = await startTestWorker(tempDir());
    for (const path of ['/', '/dashboard', '/dashboard/api/stream', '/dashboard/api/sessions/1']) {
      const answer = await worker.call('GET', path, { headers: { host: `evil.example:${worker.port}` } });
      expect(answer.status, path).toBe(403);
      expect(answer.json.error).toBe('forbidden host');
    }
    const crossOrigin = await openStream(worker.port, { origin: 'https://evil.example' });
    expect(crossOrigin.status).toBe(403);
    await crossOrigin.closed;
    expect(JSON.parse(crossOrigin.body()).error).toBe('cross-origin request refused');
    const sameOrigin = await openStream(worker.port, { origin: `http://127.0.0.1:${worker.port}`, 'sec-fetch-site': 'same-origin' });
    expect(sameOrigin.status).toBe(200);
    sameOrigin.close();
  });

  it('with a token: the page loads without it (it holds no session data); the stream and the data need it', async () => {
    const token = 'a-long-and-secret-token';
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_WORKER_TOKEN: token });
    expect((await worker.call('GET', '/')).status).toBe(200);
    const [script] = assetsOf((await worker.call('GET', '/')).text);
    expect((await worker.call('GET', `/dashboard/assets/${script}`)).status).toBe(200);
    for (const path of ['/dashboard/api/stream', '/dashboard/api/sessions/1', '/dashboard/api/status']) {
      for (const authorization of [undefined, 'Bearer wrong-token', token]) {
        const answer = await worker.call('GET', path, { headers: authorization === undefined ? {} : { authorization } });
        expect(answer.status, `${path} ${authorization}`).toBe(401);
      }
    }
    const stream = await openStream(worker.port, { authorization: `Bearer ${token}` });
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    const snapshot = await stream.next((m) => m.event === 'snapshot');
    expect(snapshot.data).toMatchObject({ type: 'snapshot', sessions: [], worker: { idleTtlMs: 3_600_000 } });
    stream.close();
  });
});

describe('the dashboard’s memories', () => {
  const observe = (w: TestWorker, contentSessionId: string, file: string, id: string) =>
    w.call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name: 'Edit', tool_input: { file_path: file }, tool_response: 'ok', cwd: '/repo', tool_use_id: id },
    });

  it('lists the memories a session produced, oldest first, and searches them all', async () => {
    worker = await startTestWorker(tempDir());
    const first = (await init(worker, 'claude-mem-a')).json.sessionDbId as number;
    await observe(worker, 'claude-mem-a', '/repo/src/login.ts', 'a1');
    await worker.call('POST', '/api/sessions/summarize', {
      body: { contentSessionId: 'claude-mem-a', last_assistant_message: 'Login fixed.' },
    });
    await idle(worker, first);
    const second = (await init(worker, 'claude-mem-b', 'other')).json.sessionDbId as number;
    await observe(worker, 'claude-mem-b', '/repo/src/logout.ts', 'b1');
    await idle(worker, second);

    const own = await worker.call('GET', `/dashboard/api/sessions/${first}/memories`);
    expect(own.status).toBe(200);
    expect(own.headers['cache-control']).toBe('no-store');
    expect(own.json).toMatchObject({ available: true, hasMore: false });
    expect(own.json.entries.map((e: { kind: string; type: string; title: string }) => [e.kind, e.type, e.title])).toEqual([
      ['observation', 'change', 'Edit /repo/src/login.ts'],
      ['summary', 'summary', 'work on claude-mem-a'],
    ]);
    expect(own.json.entries[0]).toMatchObject({ sessionDbId: first, project: 'my-app', promptNumber: 1, origin: 'reply' });
    expect(own.json.entries[0].lines).toContainEqual({ label: 'files modified', text: '/repo/src/login.ts' });
    expect((await worker.call('GET', '/dashboard/api/sessions/999/memories')).json.entries).toEqual([]);

    const search = await worker.call('GET', '/dashboard/api/memories?q=logout');
    expect(search.json.ranking).toContain('FTS5');
    expect(search.json.entries.map((e: { title: string }) => e.title)).toEqual(['Edit /repo/src/logout.ts']);
    const newest = await worker.call('GET', '/dashboard/api/memories?project=my-app&limit=1');
    expect(newest.json).toMatchObject({ ranking: null, hasMore: true });
    expect(newest.json.entries.map((e: { kind: string }) => e.kind)).toEqual(['summary']);

    for (const path of [
      '/dashboard/api/sessions/abc/memories',
      '/dashboard/api/memories?limit=0',
      '/dashboard/api/memories?offset=x',
      `/dashboard/api/memories?q=${'q'.repeat(5_000)}`,
    ]) {
      const answer = await worker.call('GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.json, path).toMatchObject({ error: expect.any(String), details: expect.anything() });
    }
  });

  it('keeps them behind the token, and refuses a foreign Host or Origin', async () => {
    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_WORKER_TOKEN: 'dashboard-token-0123456789' });
    expect((await worker.call('GET', '/dashboard/api/memories')).status).toBe(401);
    const auth = { authorization: 'Bearer dashboard-token-0123456789' };
    expect((await worker.call('GET', '/dashboard/api/memories', { headers: auth })).status).toBe(200);
    expect((await worker.call('GET', '/dashboard/api/sessions/1/memories', { headers: { ...auth, host: 'evil.example' } })).status).toBe(
      403,
    );
    expect((await worker.call('GET', '/dashboard/api/memories', { headers: { ...auth, origin: 'http://evil.example' } })).status).toBe(403);
  });
});
