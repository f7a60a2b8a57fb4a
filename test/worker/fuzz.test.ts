/**
 * Fuzzing over real HTTP: fast-check generates 10,000 requests to one running worker, across every
 * route: random methods, paths and ids; content types and charsets, Host, Origin and token headers;
 * bodies with wrong types, missing and extra fields, deep nesting, huge and odd strings, invalid UTF-8
 * and prototype keys. After each request: only a documented status, never a 500; and a 2xx's effect is
 * in the log. Every 250 requests and at the end: the worker answers /api/health, and every live session
 * rebuilt from the log equals the live one. A failing case is shrunk by fast-check; the ones found while
 * writing this test are kept as regular tests at the bottom.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildSession } from '../../src/replay/index.js';
import { describeSession, type SessionView } from '../../src/session/index.js';
import { errorAnswer } from '../../src/worker/answers.js';
import { useTempDir } from '../support/tmp.js';
import { waitForEngine } from '../support/wait.js';
import { type HttpAnswer, startTestWorker, type TestWorker } from '../support/worker.js';

const RUNS = 10_000;
const TOKEN = 'fuzz-token-0123456789abcdef';
/** What the worker may answer, as docs/operations.md lists it. */
const DOCUMENTED = new Set([200, 400, 401, 403, 404, 413, 415, 431, 503, 507]);

const tempDir = useTempDir();
let worker: TestWorker;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir();
  worker = await startTestWorker(dataDir, {
    CLAUDE_MEM_WORKER_TOKEN: TOKEN,
    CLAUDE_MEM_WORKER_BODY_LIMIT_MB: '0.05',
    CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '12',
    CLAUDE_MEM_MAX_QUEUED_ITEMS: '20',
    CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '2',
  });
});
afterAll(async () => {
  await worker?.stop({ drainMs: 0 });
});

// ── what a request is made of ────────────────────────────────────────────────────────────────────

const CONTENT_IDS = ['s1', 's2', 's3', 's4', 'session-with-a-longer-id', ''];
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom('', ' ', '\u0000', '\uD800', '<private>secret</private>', '../../etc/passwd', '💥'.repeat(40), '__proto__'),
  fc.integer({ min: 200, max: 70_000 }).map((n) => 'x'.repeat(n)),
);
const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  weirdString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { maxKeys: 4 }),
);
const sessionId = fc.oneof(fc.constantFrom(...CONTENT_IDS), weirdString);
const toolUseId = fc.oneof(fc.constantFrom('t1', 't2', 't3', 't4', 't5'), weirdString);
const promptNumber = fc.oneof(fc.integer({ min: 1, max: 8 }), weirdValue);

/** A body close to what a route expects, each field present or not, well-typed or not, plus extras. */
function bodyLike(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, value] of Object.entries(fields))
    record[key] = fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: weirdValue });
  return fc
    .tuple(fc.record(record, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 12 }), weirdValue, { maxKeys: 3 }))
    .map(([known, extra]) => ({ ...extra, ...known }));
}

const bodies: fc.Arbitrary<{ json?: unknown; raw?: Buffer | string }> = fc.oneof(
  {
    weight: 3,
    arbitrary: bodyLike({ contentSessionId: sessionId, project: fc.constantFrom('p', 'q'), prompt: weirdString }).map((json) => ({ json })),
  },
  {
    weight: 4,
    arbitrary: bodyLike({
      contentSessionId: sessionId,
      tool_name: fc.constantFrom('Bash', 'Edit', 'Read', 'TodoWrite'),
      tool_input: weirdValue,
      tool_response: weirdValue,
      cwd: weirdString,
      tool_use_id: toolUseId,
    }).map((json) => ({ json })),
  },
  { weight: 2, arbitrary: bodyLike({ contentSessionId: sessionId, last_assistant_message: weirdString }).map((json) => ({ json })) },
  { weight: 2, arbitrary: bodyLike({ userPrompt: weirdString, promptNumber }).map((json) => ({ json })) },
  {
    weight: 1,
    arbitrary: bodyLike({ q: weirdString, project: fc.constantFrom('p', 'q'), limit: fc.oneof(fc.nat(30), fc.nat(30).map(String)) }).map(
      (json) => ({ json }),
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((json) => ({ json })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ raw: Buffer.from(bytes) })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '{"__proto__":{"polluted":true},"contentSessionId":"s1","project":"p","prompt":"x"}',
        '{"constructor":{"prototype":{"polluted":true}},"contentSessionId":"s2","tool_name":"Bash"}',
        `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
        `{"a":${'{"a":'.repeat(3_000)}1${'}'.repeat(3_001)}`,
        '{"contentSessionId": "s1", "project": "p", "prompt": "\\ud800"}',
        Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'),
        '',
        'null',
        '{',
      )
      .map((raw) => ({ raw })),
  },
  { weight: 1, arbitrary: fc.constant({}) },
);

/** Percent-encodes, and turns what cannot be encoded (a lone surrogate) into an invalid UTF-8 sequence. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

const ROUTES: [method: string, path: string][] = [
  ['GET', '/api/readiness'],
  ['GET', '/api/health'],
  ['GET', '/api/version'],
  ['POST', '/api/sessions/init'],
  ['POST', '/sessions/:id/init'],
  ['POST', '/api/sessions/observations'],
  ['POST', '/api/sessions/summarize'],
  ['POST', '/api/sessions/complete'],
  ['GET', '/sessions/:id/status'],
  ['DELETE', '/sessions/:id'],
  ['POST', '/sessions/:id/complete'],
  ['GET', '/api/sessions'],
  ['GET', '/api/sessions/:id'],
  ['GET', '/api/sessions/:id/events'],
  ['GET', '/metrics'],
  ['GET', '/api/context/inject'],
  ['POST', '/api/context/semantic'],
  ['GET', '/api/observations/by-file'],
  ['GET', '/api/search'],
  ['GET', '/api/observations'],
  ['GET', '/api/summaries'],
  ['GET', '/api/observation/:id'],
  ['GET', '/api/summary/:id'],
  ['DELETE', '/api/observation/:id'],
  ['DELETE', '/api/summary/:id'],
  ['DELETE', '/api/memories'],
];
const ids = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1.5', '1e3', '999999999999999999999', 'abc', '%00', '..%2F..', '%F0%9F%92%A5', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(encode) },
);
const queries = fc.oneof(
  fc.constant(''),
  fc
    .tuple(fc.oneof(fc.nat(50).map(String), weirdString), fc.oneof(fc.integer({ min: -5, max: 200_000 }).map(String), weirdString))
    .map(([after, limit]) => `?after=${encode(after)}&limit=${encode(limit)}`),
  fc.constantFrom('?project=p', '?project=', '?a[b]=c&a[b]=d', '?%zz'),
  // The memory routes' parameters, well-formed or not.
  fc
    .tuple(
      fc.constantFrom('projects', 'project', 'path', 'query', 'type', 'obs_type', 'limit', 'offset', 'format', 'colors', 'sessionDbId'),
      fc.oneof(
        fc.constantFrom('p', 'q', 'p,q', 'a.ts', '/r/a.ts', 'Bash', 'json', 'text', 'true', '1', '0', '100', '-1', 'observations'),
        weirdString,
      ),
      fc.constantFrom('projects', 'path', 'query', 'limit'),
      fc.oneof(fc.constantFrom('p', 'src/a.ts', 'retry OR "x', '5'), weirdString),
    )
    .map(([k1, v1, k2, v2]) => `?${k1}=${encode(v1)}&${k2}=${encode(v2)}`),
);
const requests = fc.record({
  route: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...ROUTES) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('GET', 'POST'), fc.webPath()) },
  ),
  method: fc.oneof(
    { weight: 10, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  ),
  id: ids,
  query: queries,
  body: bodies,
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        '',
        'garbage/;;;',
        undefined,
      ),
    },
  ),
  host: fc.oneof(
    { weight: 10, arbitrary: fc.constant('own') },
    { weight: 1, arbitrary: fc.constantFrom('localhost', 'evil.example', '127.0.0.1:1', '', 'EVIL.example:80') },
  ),
  origin: fc.oneof(
    { weight: 10, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('own', 'http://evil.example', 'null', 'file://') },
  ),
  token: fc.oneof(
    { weight: 10, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer wrong', 'Bearer ', TOKEN, 'Basic x') },
  ),
});
type Request = typeof requests extends fc.Arbitrary<infer R> ? R : never;

async function send(request: Request): Promise<{ method: string; path: string; answer: HttpAnswer; body: unknown }> {
  const [routeMethod, template] = request.route;
  const method = request.method ?? routeMethod;
  const path = template.replace(':id', request.id) + request.query;
  const own = `127.0.0.1:${worker.port}`;
  const headers: Record<string, string> = {};
  if (request.host !== 'own') headers.host = request.host;
  if (request.origin !== undefined) headers.origin = request.origin === 'own' ? `http://${own}` : request.origin;
  if (request.token !== undefined) headers.authorization = request.token;
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const raw = request.body.raw ?? (request.body.json === undefined ? undefined : JSON.stringify(request.body.json));
  if (hasBody && raw !== undefined && request.contentType !== undefined) headers['content-type'] = request.contentType;
  const answer = await worker.call(method, path, hasBody && raw !== undefined ? { raw, headers } : { headers });
  return { method, path, answer, body: bodyOf(request) };
}

/** The body as the worker would parse it, for the checks (a raw body may be JSON too). */
function bodyOf(request: Request): unknown {
  if (request.body.json !== undefined) return request.body.json;
  try {
    return JSON.parse(String(request.body.raw ?? ''));
  } catch {
    return undefined;
  }
}

// ── what must hold ───────────────────────────────────────────────────────────────────────────────

function workQueued(contentSessionId: string): number {
  const stored = worker.store.findSession(contentSessionId);
  if (stored === undefined) return 0;
  return worker.store.readEvents(stored.sessionDbId).filter((event) => event.type === 'WORK_QUEUED').length;
}

/** A 2xx's effect is in the log (checked against a count taken just before the request). */
function effectIsLogged(path: string, answer: HttpAnswer, body: unknown, queuedBefore: number): void {
  const json = answer.json as Record<string, unknown> | undefined;
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const contentSessionId = typeof fields.contentSessionId === 'string' ? fields.contentSessionId.trim() : '';
  if (path.startsWith('/api/sessions/init') && json?.skipped === false) {
    expect(worker.store.findSession(contentSessionId)?.lastPromptNumber).toBeGreaterThanOrEqual(Number(json.promptNumber));
  }
  if ((path.startsWith('/api/sessions/observations') || path.startsWith('/api/sessions/summarize')) && json?.status === 'queued') {
    const stored = worker.store.findSession(contentSessionId)!;
    expect(stored).toBeDefined();
    if (typeof fields.tool_use_id === 'string' && path.startsWith('/api/sessions/observations')) {
      expect(worker.store.hasWorkKey(stored.sessionDbId, fields.tool_use_id.trim())).toBe(true);
    } else {
      expect(workQueued(contentSessionId)).toBe(queuedBefore + 1);
    }
  }
}

/** No session waits for a slot or for its agent (the log and the live sessions then agree once committed). */
async function settledSessions(): Promise<void> {
  const busy = (view: SessionView) => view.tags.includes('agent-call') || view.tags.includes('slot-request');
  await waitForEngine(worker.engine, () => !worker.registry.list().some(busy), { what: 'every session settled', timeoutMs: 2_000 });
}

/** Every live session, rebuilt from the log alone, is what the registry holds. */
async function logEqualsLive(): Promise<void> {
  await settledSessions();
  await worker.store.flush();
  for (const live of worker.registry.list()) {
    const stored = worker.store.getSession(live.sessionDbId)!;
    const rebuilt = rebuildSession(worker.store, stored)!;
    const fromLog = describeSession(rebuilt.value, rebuilt.context);
    expect({ ...fromLog, historyTokens: fromLog.historyTokens }).toEqual({ ...live });
  }
  // Every reply in the log has had its memories stored, once (a deleted memory leaves its reply marked).
  const memories = worker.engine.memories!;
  for (const contentSessionId of CONTENT_IDS) {
    const stored = worker.store.findSession(contentSessionId);
    if (stored === undefined) continue;
    for (const event of worker.store.readEvents(stored.sessionDbId)) {
      if (event.type === 'xstate.done.actor.agent') expect(await memories.remembered(stored.sessionDbId, event.seq)).toBe(true);
    }
  }
  const health = await worker.call('GET', '/api/health');
  expect(health.status).toBe(200);
}

describe('fuzzing the worker over real HTTP', () => {
  it(`answers ${RUNS.toLocaleString('en-US')} generated requests with documented statuses only, logs every 2xx's effect, and stays equal to its log`, async () => {
    const statuses = new Map<number, number>();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(requests, async (request) => {
        const parsed = bodyOf(request);
        const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
        const contentSessionId = typeof fields.contentSessionId === 'string' ? fields.contentSessionId.trim() : '';
        const queuedBefore = workQueued(contentSessionId);
        const { path, answer, body } = await send(request);
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        expect(DOCUMENTED.has(answer.status), `${request.route.join(' ')} → ${answer.status} ${answer.text.slice(0, 300)}`).toBe(true);
        // Every failure in one shape: details is always a list of {field?, problem}.
        if (answer.status >= 400 && answer.text !== '' && !(path.startsWith('/api/readiness') && answer.status === 503)) {
          expect(errorAnswer.safeParse(answer.json).success, `${request.route.join(' ')} → ${answer.text.slice(0, 300)}`).toBe(true);
        }
        if (answer.status === 200) effectIsLogged(path, answer, body, queuedBefore);
        if (++sent % 250 === 0) await logEqualsLive();
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261130), endOnFailure: true },
    );
    await logEqualsLive();
    console.log(`fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    expect(sent).toBe(RUNS);
  }, 600_000);
});

describe('cases the fuzzer found, kept as regular tests', () => {
  it('answers a request line over 16 KB with 431 in the {error, details} shape (it was fastify’s own shape)', async () => {
    const answer = await worker.call('GET', `/metrics?after=${'x'.repeat(20_000)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(answer.status).toBe(431);
    expect(answer.json).toEqual({ error: 'request headers too large', details: [{ problem: expect.stringContaining('16 KB') }] });
  });

  it('answers the same to HEAD without a body, so the client can read it (it was a parse error on the client)', async () => {
    const answer = await worker.call('HEAD', `/api/health?after=${'x'.repeat(20_000)}`);
    expect(answer.status).toBe(431);
    expect(answer.text).toBe('');
    expect((await worker.call('GET', '/api/health')).status).toBe(200);
  });
});
