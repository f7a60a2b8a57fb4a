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
// Memory is read every second as well: RSS from /proc, and V8's heap (used and committed) and external
// memory from /metrics. The collector swings the committed heap, and RSS with it, by up to 100 MB over
// a minute or so (measured: the rest of RSS stayed within 2 MB), so a line through RSS says as much
// about where in that swing the run ended as about a trend. A leak shows in what the swing leaves out:
// memory outside V8's heap, and the heap still in use just after each major collection.
const MEMORY_EVERY_MS = 1_000;
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

/** Several metrics from one scrape, each summed over its series. */
async function metrics(names: readonly string[]): Promise<number[]> {
  const lines = (await fetch(`${base}/metrics`).then((r) => r.text())).split('\n');
  return names.map((name) =>
    lines
      .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0),
  );
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
interface MemoryReading {
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** RSS outside V8's committed heap and its external memory: native allocations (SQLite, buffers, code). */
  readonly native: number;
}
const memoryReadings: MemoryReading[] = [];
async function readMemory(): Promise<void> {
  const at = (Date.now() - started) / 1_000;
  const rss = rssOf(worker.pid!);
  const values = await metrics([
    'session_lifecycle_nodejs_heap_size_used_bytes',
    'session_lifecycle_nodejs_heap_size_total_bytes',
    'session_lifecycle_nodejs_external_memory_bytes',
  ]);
  const [heapUsed, heapTotal, external] = values as [number, number, number];
  memoryReadings.push({ at, rss, heapUsed, native: rss - heapTotal - external });
}
await readMemory();
await sample();
const sampler = setInterval(() => void sample(), SAMPLE_EVERY_MS);
const memoryReader = setInterval(() => void readMemory(), MEMORY_EVERY_MS);
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
clearInterval(memoryReader);
await readMemory();
await sample();
await stopServer(worker);
rmSync(dataDir, { recursive: true, force: true });

// Growth is judged over the second half (the first fills the heap and SQLite's caches), as the rise of
// a line fitted through the half's readings, against its value at mid-run.
const last = samples.at(-1)!;
const secondHalf = samples.filter((s) => s.elapsedSeconds >= last.elapsedSeconds / 2);
const endSeconds = memoryReadings.at(-1)!.at;
const secondHalfMemory = memoryReadings.filter((reading) => reading.at >= endSeconds / 2);
function growthOverSecondHalf(points: readonly (readonly [number, number])[]) {
  const fit = leastSquares(points);
  const from = fit.at(points[0]![0]);
  const to = fit.at(points.at(-1)![0]);
  return { fromMb: mib(from), toMb: mib(to), percent: round(((to - from) / from) * 100, 2) };
}
const rssGrowth = growthOverSecondHalf(secondHalfMemory.map((reading) => [reading.at, reading.rss]));
const nativeGrowth = growthOverSecondHalf(secondHalfMemory.map((reading) => [reading.at, reading.native]));
// The heap in use just after each major collection: a reading at least a fifth below the one before
// (a scavenge of the young generation frees a few MB; a major collection, tens).
const afterCollections = memoryReadings
  .filter((reading, index) => index > 0 && reading.heapUsed < 0.8 * memoryReadings[index - 1]!.heapUsed)
  .map((reading) => [reading.at, reading.heapUsed] as const);
const secondHalfCollections = afterCollections.filter(([at]) => at >= endSeconds / 2);
// With fewer than two collections in the half there is no line to fit: the heap did not swing, and RSS says it all.
const heapFloorGrowth = secondHalfCollections.length >= 2 ? growthOverSecondHalf(secondHalfCollections) : rssGrowth;
const lastHalfGrowthPercent = rssGrowth.percent;
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
  memoryReadEverySeconds: MEMORY_EVERY_MS / 1_000,
  memoryReadings: memoryReadings.length,
  rssFittedMidMb: rssGrowth.fromMb,
  rssFittedFinalMb: rssGrowth.toMb,
  rssMeanSecondHalfMb: mib(mean(secondHalfMemory.map((reading) => reading.rss))),
  nativeMeanSecondHalfMb: mib(mean(secondHalfMemory.map((reading) => reading.native))),
  nativeGrowth,
  heapAfterCollectionsMb: afterCollections.map(([at, heap]) => [round(at), mib(heap)]),
  heapFloorGrowth,
  rssFinalMb: mib(last.rssBytes),
  rssMaxMb: mib(Math.max(...memoryReadings.map((reading) => reading.rss))),
  lastHalfGrowthPercent,
  met: last.failed === 0 && nativeGrowth.percent <= 5 && heapFloorGrowth.percent <= 5,
  heapFirstHalfMeanMb: mib(mean(samples.filter((s) => s.elapsedSeconds < last.elapsedSeconds / 2).map((s) => s.heapUsedBytes))),
  heapSecondHalfMeanMb: mib(mean(secondHalf.map((s) => s.heapUsedBytes))),
  samples: samples.map((s) => ({ ...s, rssMb: mib(s.rssBytes), heapUsedMb: mib(s.heapUsedBytes) })),
});
log(
  `soak over HTTP: ${last.requests} requests, ${last.failed} failed; over the second half, fitted: RSS ${rssGrowth.fromMb} → ${rssGrowth.toMb} MB (${rssGrowth.percent} %), outside V8's heap ${nativeGrowth.fromMb} → ${nativeGrowth.toMb} MB (${nativeGrowth.percent} %), heap in use after collection ${heapFloorGrowth.fromMb} → ${heapFloorGrowth.toMb} MB (${heapFloorGrowth.percent} %)`,
);
