/**
 * The soak through the real worker over HTTP: `session-lifecycle serve` in its own process (SQLite log,
 * local provider, short TTL), and sessions arriving continuously from this one at a steady rate, each a
 * prompt, 20 observations of about 5 KB and a summarize (a request every 50 ms), then silence until its
 * TTL disposes it. Each session starts as claude-mem's hooks start one: it asks for the project's
 * memories (`/api/context/inject`) and, before its first read, a file's (`/api/observations/by-file`);
 * every reply is stored as memories, so they pile up on disk through the run. The arrival rate is fixed
 * (an open loop), so that what the worker holds does not follow the machine's other load. Every 10 s:
 * the requests that failed (anything but 2xx, or no answer), the live sessions, the memories stored,
 * the worker's RSS and heap.
 *
 *   npm run soak:http                  10 minutes (part of `npm run bench:full`)
 *   npm run soak:http -- --minutes 1   shorter, to try it
 *
 * Writes bench/soak-http.csv, docs/soak-http.svg and the `soakHttp` section of bench/results.json.
 * Aim: no failed request, and RSS growth over the second half of the run at most 5 %.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { freePort, startServer, stopServer } from './lib/http.js';
import { log, mib, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sessions-per-second': { type: 'string', default: '10' },
  },
});
const MINUTES = Number(args.minutes);
const SESSIONS_PER_SECOND = Number(args['sessions-per-second']);
const PACE_MS = 50;
const SAMPLE_EVERY_MS = 10_000;
const OBSERVATIONS = 20;
const OBSERVATION_BYTES = 5_000;
const TTL_SECONDS = 6;
const GRACE_SECONDS = 2;

interface Sample {
  readonly elapsedSeconds: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly liveSessions: number;
  readonly requests: number;
  readonly failed: number;
  readonly sessionsStarted: number;
  readonly disposals: number;
  readonly observationsStored: number;
}

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);

function leastSquares(points: readonly (readonly [number, number])[]): { at(x: number): number } {
  const mx = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const num = points.reduce((sum, [x, y]) => sum + (x - mx) * (y - my), 0);
  const den = points.reduce((sum, [x]) => sum + (x - mx) ** 2, 0);
  const slope = den === 0 ? 0 : num / den;
  return { at: (x) => my + slope * (x - mx) };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

const dataDir = mkdtempSync(join(tmpdir(), 'soak-http-'));
const port = await freePort();
const worker = await startServer(
  process.execPath,
  ['--import', 'tsx', cli, 'serve'],
  {
    CLAUDE_MEM_DATA_DIR: dataDir,
    CLAUDE_MEM_WORKER_PORT: String(port),
    CLAUDE_MEM_LOG_LEVEL: 'warn',
    CLAUDE_MEM_SESSION_TTL_MINUTES: String(TTL_SECONDS / 60),
    CLAUDE_MEM_SESSION_GRACE_SECONDS: String(GRACE_SECONDS),
    CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '10000',
  },
  port,
);
const base = `http://127.0.0.1:${port}`;
let requests = 0;
let failed = 0;
let sessionsStarted = 0;
const failures = new Map<string, number>();

async function post(path: string, body?: unknown): Promise<void> {
  requests++;
  try {
    const answer = await fetch(
      `${base}${path}`,
      body === undefined
        ? { method: 'GET' }
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
    );
    await answer.arrayBuffer();
    if (!answer.ok) {
      failed++;
      failures.set(String(answer.status), (failures.get(String(answer.status)) ?? 0) + 1);
    }
  } catch (error) {
    failed++;
    const code = (error as { cause?: { code?: string } }).cause?.code ?? 'network';
    failures.set(code, (failures.get(code) ?? 0) + 1);
  }
}

const response = 'x'.repeat(OBSERVATION_BYTES);
async function oneSession(): Promise<void> {
  const contentSessionId = `soak-${process.pid}-${++sessionsStarted}`;
  // SessionStart and the first PreToolUse(Read): the memories of the project, and of a file.
  await post('/api/context/inject?projects=soak');
  await post(`/api/observations/by-file?path=${encodeURIComponent(`/soak/step-${sessionsStarted % 20}`)}&projects=soak`);
  await post('/api/sessions/init', { contentSessionId, project: 'soak', prompt: `Work on task ${sessionsStarted}` });
  for (let n = 0; n < OBSERVATIONS; n++) {
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
    await post('/api/sessions/observations', {
      contentSessionId,
      tool_name: 'Bash',
      tool_input: { command: `step ${n}` },
      tool_response: response,
      cwd: '/soak',
      tool_use_id: `${contentSessionId}-${n}`,
    });
  }
  await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  await post('/api/sessions/summarize', { contentSessionId, last_assistant_message: 'Done with this task.' });
}

async function metric(name: string): Promise<number> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text());
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const started = Date.now();
const endAt = started + MINUTES * 60_000;
const samples: Sample[] = [];
async function sample(): Promise<void> {
  const live = ((await fetch(`${base}/api/sessions`).then((r) => r.json())) as { sessions: unknown[] }).sessions.length;
  const record: Sample = {
    elapsedSeconds: round((Date.now() - started) / 1_000),
    rssBytes: rssOf(worker.pid!),
    heapUsedBytes: await metric('session_lifecycle_nodejs_heap_size_used_bytes'),
    liveSessions: live,
    requests,
    failed,
    sessionsStarted,
    disposals: await metric('session_lifecycle_disposals_total'),
    observationsStored: await metric('session_lifecycle_memories{kind="observation"}'),
  };
  samples.push(record);
  log(
    `  ${record.elapsedSeconds} s: rss ${mib(record.rssBytes)} MB, heap ${mib(record.heapUsedBytes)} MB, ${live} live, ${requests} requests, ${failed} failed, ${record.disposals} disposed, ${record.observationsStored} observations stored`,
  );
}

log(
  `soak over HTTP: ${MINUTES} min, ${SESSIONS_PER_SECOND} sessions/s, each a prompt, ${OBSERVATIONS} observations of ${OBSERVATION_BYTES} B and a summarize, a request every ${PACE_MS} ms; TTL ${TTL_SECONDS} s`,
);
await sample();
const sampler = setInterval(() => void sample(), SAMPLE_EVERY_MS);
const running = new Set<Promise<void>>();
const arrivals = setInterval(() => {
  if (Date.now() >= endAt) return;
  const session = oneSession().finally(() => running.delete(session));
  running.add(session);
}, 1_000 / SESSIONS_PER_SECOND);
await new Promise((resolve) => setTimeout(resolve, endAt - Date.now()));
clearInterval(arrivals);
await Promise.all(running);
clearInterval(sampler);
await sample();
await stopServer(worker);
rmSync(dataDir, { recursive: true, force: true });

// Growth is judged over the second half (the first fills the heap and SQLite's caches). RSS moves with
// the live sessions and the collector from one sample to the next, so the line fitted through the
// second half's samples says where it goes: its rise over the half, against its value at mid-run.
const last = samples.at(-1)!;
const secondHalf = samples.filter((s) => s.elapsedSeconds >= last.elapsedSeconds / 2);
const mid = secondHalf[0]!;
const fit = leastSquares(secondHalf.map((s) => [s.elapsedSeconds, s.rssBytes]));
const fittedAtMid = fit.at(mid.elapsedSeconds);
const lastHalfGrowthPercent = round(((fit.at(last.elapsedSeconds) - fittedAtMid) / fittedAtMid) * 100, 2);
const elapsedSeconds = round((Date.now() - started) / 1_000);

writeFileSync(
  new URL('./soak-http.csv', import.meta.url),
  `${['elapsed_s,rss_mb,live_sessions,requests,failed,sessions_started,disposals,observations_stored', ...samples.map((s) => `${s.elapsedSeconds},${mib(s.rssBytes)},${s.liveSessions},${s.requests},${s.failed},${s.sessionsStarted},${s.disposals},${s.observationsStored}`)].join('\n')}\n`,
);
const line = (field: string, title: string, color: string) => ({
  width: 640,
  height: 180,
  mark: { type: 'line' as const, point: true, color },
  encoding: {
    x: { field: 'minutes', type: 'quantitative' as const, title: 'minutes' },
    y: { field, type: 'quantitative' as const, title },
  },
});
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `The worker over HTTP for ${MINUTES} minutes: ${last.sessionsStarted.toLocaleString('en')} sessions, ${last.requests.toLocaleString('en')} requests, ${last.failed} failed`,
  background: 'white',
  data: {
    values: samples.map((s) => ({
      minutes: round(s.elapsedSeconds / 60, 2),
      rss: mib(s.rssBytes),
      heap: mib(s.heapUsedBytes),
      live: s.liveSessions,
    })),
  },
  vconcat: [
    line('rss', 'worker RSS (MB)', '#1f77b4'),
    line('heap', 'worker heap used (MB)', '#9467bd'),
    line('live', 'live sessions', '#2ca02c'),
  ],
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
writeFileSync(new URL('../docs/soak-http.svg', import.meta.url), await view.toSVG());

writeSection('soakHttp', `npm run soak:http${MINUTES === 10 ? '' : ` -- --minutes ${MINUTES}`}`, {
  minutes: MINUTES,
  elapsedSeconds,
  sessionsPerSecond: SESSIONS_PER_SECOND,
  requestEveryMs: PACE_MS,
  observationsPerSession: OBSERVATIONS,
  observationBytes: OBSERVATION_BYTES,
  ttlSeconds: TTL_SECONDS,
  graceSeconds: GRACE_SECONDS,
  sampleEverySeconds: SAMPLE_EVERY_MS / 1_000,
  sessions: last.sessionsStarted,
  requests: last.requests,
  requestsPerSecond: round(last.requests / elapsedSeconds),
  failed: last.failed,
  failures: Object.fromEntries(failures),
  disposals: last.disposals,
  observationsStored: last.observationsStored,
  finalLiveSessions: last.liveSessions,
  maxLiveSessions: Math.max(...samples.map((s) => s.liveSessions)),
  rssMidMb: mib(mid.rssBytes),
  rssFittedMidMb: mib(fittedAtMid),
  rssFittedFinalMb: mib(fit.at(last.elapsedSeconds)),
  rssMeanSecondHalfMb: mib(mean(secondHalf.map((s) => s.rssBytes))),
  rssFinalMb: mib(last.rssBytes),
  rssMaxMb: mib(Math.max(...samples.map((s) => s.rssBytes))),
  lastHalfGrowthPercent,
  met: last.failed === 0 && lastHalfGrowthPercent <= 5,
  heapFirstHalfMeanMb: mib(mean(samples.filter((s) => s.elapsedSeconds < last.elapsedSeconds / 2).map((s) => s.heapUsedBytes))),
  heapSecondHalfMeanMb: mib(mean(secondHalf.map((s) => s.heapUsedBytes))),
  samples: samples.map((s) => ({ ...s, rssMb: mib(s.rssBytes), heapUsedMb: mib(s.heapUsedBytes) })),
});
log(
  `soak over HTTP: ${last.requests} requests, ${last.failed} failed; RSS over the second half, fitted: ${mib(fittedAtMid)} → ${mib(fit.at(last.elapsedSeconds))} MB (${lastHalfGrowthPercent} %)`,
);
