/**
 * Memories at scale, through the real worker over HTTP: a data directory holding 100,000 stored
 * observations (and a summary per 50 of them, over 20 projects) against an empty one, each served by
 * `session-lifecycle serve` in its own process, the same requests to both:
 *   - the worker's RSS through the requests (the median of a sample every 100 ms), with the memories and
 *     without (aim: within ±10 %: memories live on disk, not in the heap);
 *   - `GET /api/context/inject` (SessionStart) latency, p50 / p99 (aim: p99 ≤ 20 ms);
 *   - `GET /api/search` latency (one or two words, bm25 over FTS5), p50 / p99 (aim: p99 ≤ 50 ms);
 *   - `GET /api/observations/by-file` (PreToolUse Read) and `POST /api/context/semantic` (a prompt's
 *     words), for the record.
 * Requests are sent one at a time from this process (latency, not throughput).
 *
 *   npm run bench:memories                               100,000 observations
 *   npm run bench:memories -- --observations 20000       fewer, to try it
 *
 * Writes the `memories` section of bench/results.json.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ObservationFields, openSqliteMemories, type SummaryFields } from '../src/memories/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { freePort, startServer, stopServer } from './lib/http.js';
import { log, mib, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    observations: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '1000' },
  },
});
const OBSERVATIONS = Number(args.observations);
const REQUESTS = Number(args.requests);
const PROJECTS = 20;
const OBSERVATIONS_PER_REPLY = 5;
const REPLIES_PER_SESSION = 10;
const FILES_PER_PROJECT = 400;
const AIMS = { rssPercent: 10, injectP99Ms: 20, searchP99Ms: 50 };
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

// ── a deterministic corpus ──────────────────────────────────────────────────────────────────────

let seed = 20261205;
const random = () => {
  seed = (seed * 1_664_525 + 1_013_904_223) % 2 ** 32;
  return seed / 2 ** 32;
};
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'su', 'do', 'fa', 'gi', 'hu', 'ja', 'be'];
const VOCABULARY = Array.from(
  { length: 3_000 },
  (_, i) => `${pick(SYLLABLES)}${pick(SYLLABLES)}${pick(SYLLABLES)}${i % 7 === 0 ? 'er' : ''}`,
);
const COMMON = ['login', 'session', 'cache', 'retry', 'token', 'parser', 'worker', 'config', 'test', 'error'];
const words = (count: number) => Array.from({ length: count }, () => (random() < 0.15 ? pick(COMMON) : pick(VOCABULARY))).join(' ');
const project = (n: number) => `project-${n}`;
const fileOf = (projectIndex: number, n: number) => `/home/dev/${project(projectIndex)}/src/${VOCABULARY[n % 97]}/${VOCABULARY[n]}.ts`;
const TYPES = ['discovery', 'change', 'bugfix', 'feature', 'refactor', 'decision'];

function observation(projectIndex: number): ObservationFields {
  const file = fileOf(projectIndex, Math.floor(random() * FILES_PER_PROJECT));
  const modified = random() < 0.4;
  return {
    type: pick(TYPES),
    title: `${modified ? 'Edited' : 'Read'} ${file.split('/').at(-1)}: ${words(5)}`,
    subtitle: words(8),
    facts: [words(10), words(10), words(8)],
    narrative: words(40),
    concepts: [pick(COMMON), pick(COMMON)],
    filesRead: modified ? [] : [file],
    filesModified: modified ? [file] : [],
    text: null,
  };
}

function summary(): SummaryFields {
  return { request: words(12), investigated: words(15), learned: words(15), completed: words(15), nextSteps: words(10), notes: null };
}

/** Fills a data directory's memories as a worker would have stored them: replies of several observations, a summary per session. */
async function fill(dataDir: string): Promise<{ seconds: number; fileMb: number; observations: number; summaries: number }> {
  const started = performance.now();
  const logStore = openSqliteStore(join(dataDir, 'session-events.db'));
  const memories = openSqliteMemories(logStore);
  let stored = 0;
  let at = Date.UTC(2026, 0, 1);
  for (let session = 1; stored < OBSERVATIONS; session++) {
    const projectIndex = session % PROJECTS;
    for (let reply = 1; reply <= REPLIES_PER_SESSION && stored < OBSERVATIONS; reply++) {
      const count = Math.min(OBSERVATIONS_PER_REPLY, OBSERVATIONS - stored);
      at += 1_000;
      const source = {
        sessionDbId: session,
        seq: reply,
        contentSessionId: `bench-session-${session}`,
        project: project(projectIndex),
        promptNumber: 1,
        items: Array.from({ length: count }, (_, i) => `toolu_${session}_${reply}_${i}`),
        at,
      };
      const last = reply === REPLIES_PER_SESSION || stored + count >= OBSERVATIONS;
      await memories.remember(source, {
        observations: Array.from({ length: count }, () => observation(projectIndex)),
        summaries: last ? [summary()] : [],
        acknowledged: false,
      });
      stored += count;
    }
  }
  const stats = await memories.stats();
  await memories.close();
  logStore.close();
  const path = join(dataDir, 'session-events.db');
  const size = statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
  return {
    seconds: round((performance.now() - started) / 1_000, 1),
    fileMb: mib(size),
    observations: stats.observations,
    summaries: stats.summaries,
  };
}

// ── measuring a worker ──────────────────────────────────────────────────────────────────────────

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly requests: number;
}

async function timed(base: string, requests: readonly { path: string; body?: unknown }[]): Promise<Latency> {
  const times: number[] = [];
  for (const request of requests) {
    const started = performance.now();
    const answer = await fetch(
      `${base}${request.path}`,
      request.body === undefined
        ? {}
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) },
    );
    await answer.arrayBuffer();
    times.push(performance.now() - started);
    if (!answer.ok) throw new Error(`${request.path} answered ${answer.status}`);
  }
  times.sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(times, 50), 2),
    p99Ms: round(percentile(times, 99), 2),
    maxMs: round(times.at(-1)!, 2),
    requests: times.length,
  };
}

const requestsOf = () => {
  const n = Array.from({ length: REQUESTS }, (_, i) => i);
  return {
    inject: n.map((i) => ({ path: `/api/context/inject?projects=${project(i % PROJECTS)}` })),
    search: n.map((i) => ({
      path: `/api/search?format=json&limit=20&query=${encodeURIComponent(i % 3 === 0 ? pick(COMMON) : `${pick(VOCABULARY)} ${i % 2 ? pick(VOCABULARY) : ''}`.trim())}${i % 4 === 0 ? `&project=${project(i % PROJECTS)}` : ''}`,
    })),
    byFile: n.map((i) => {
      const file = fileOf(i % PROJECTS, i % FILES_PER_PROJECT);
      const relative = file.split(`/${project(i % PROJECTS)}/`)[1]!;
      return {
        path: `/api/observations/by-file?path=${encodeURIComponent(file)}&path=${encodeURIComponent(relative)}&projects=${project(i % PROJECTS)}&limit=40`,
      };
    }),
    semantic: n.slice(0, Math.ceil(REQUESTS / 4)).map((i) => ({
      path: '/api/context/semantic',
      body: { q: `why does the ${words(8)} fail`, project: project(i % PROJECTS), limit: '5' },
    })),
  };
};

async function measure(dataDir: string, label: string) {
  const port = await freePort();
  const worker = await startServer(
    process.execPath,
    ['--import', 'tsx', cli, 'serve'],
    { CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_WORKER_PORT: String(port), CLAUDE_MEM_LOG_LEVEL: 'warn' },
    port,
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    const requests = requestsOf();
    // Warm-up: the code paths compiled, SQLite's page cache as warm as it gets.
    for (const kind of Object.values(requests)) await timed(base, kind.slice(0, 50));
    const rssBeforeBytes = rssOf(worker.pid!);
    // RSS moves with the collector from one moment to the next: sampled through the requests, the median kept.
    const rssSamples: number[] = [];
    const sampler = setInterval(() => rssSamples.push(rssOf(worker.pid!)), 100);
    const inject = await timed(base, requests.inject);
    const search = await timed(base, requests.search);
    const byFile = await timed(base, requests.byFile);
    const semantic = await timed(base, requests.semantic);
    clearInterval(sampler);
    rssSamples.sort((a, b) => a - b);
    const rssBytes = percentile(rssSamples, 50);
    log(
      `  ${label}: RSS ${mib(rssBytes)} MB; inject p50 ${inject.p50Ms} / p99 ${inject.p99Ms} ms; search ${search.p50Ms} / ${search.p99Ms} ms; ` +
        `by-file ${byFile.p50Ms} / ${byFile.p99Ms} ms; semantic ${semantic.p50Ms} / ${semantic.p99Ms} ms`,
    );
    return {
      rssMb: mib(rssBytes),
      rssMaxMb: mib(rssSamples.at(-1)!),
      rssSamples: rssSamples.length,
      rssBeforeRequestsMb: mib(rssBeforeBytes),
      inject,
      search,
      byFile,
      semantic,
    };
  } finally {
    await stopServer(worker);
  }
}

// ── the run ─────────────────────────────────────────────────────────────────────────────────────

const filledDir = mkdtempSync(join(tmpdir(), 'bench-memories-'));
const emptyDir = mkdtempSync(join(tmpdir(), 'bench-memories-empty-'));
try {
  log(`memories: storing ${OBSERVATIONS.toLocaleString('en-US')} observations over ${PROJECTS} projects…`);
  const filled = await fill(filledDir);
  log(`  stored ${filled.observations} observations and ${filled.summaries} summaries in ${filled.seconds} s; ${filled.fileMb} MB on disk`);
  const without = await measure(emptyDir, 'no memories');
  const withMemories = await measure(filledDir, `${OBSERVATIONS.toLocaleString('en-US')} observations`);
  const rssChangePercent = round(((withMemories.rssMb - without.rssMb) / without.rssMb) * 100, 1);
  const met = {
    rss: Math.abs(rssChangePercent) <= AIMS.rssPercent,
    inject: withMemories.inject.p99Ms <= AIMS.injectP99Ms,
    search: withMemories.search.p99Ms <= AIMS.searchP99Ms,
  };
  writeSection('memories', `npm run bench:memories${OBSERVATIONS === 100_000 ? '' : ` -- --observations ${OBSERVATIONS}`}`, {
    observations: filled.observations,
    summaries: filled.summaries,
    projects: PROJECTS,
    requestsPerRoute: REQUESTS,
    fill: filled,
    without,
    with: withMemories,
    rssChangePercent,
    aims: AIMS,
    met,
  });
  log(`memories: RSS ${without.rssMb} → ${withMemories.rssMb} MB (${rssChangePercent} %); aims met: ${JSON.stringify(met)}`);
} finally {
  rmSync(filledDir, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
}
