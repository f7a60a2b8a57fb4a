/**
 * What the dashboard costs, in one run against one worker process with 1,000 live sessions:
 *   - the page's transfer size: every file a fresh Chromium fetches to show it (headers included,
 *     compressed as sent), and the first stream message for 1,000 sessions;
 *   - the worker's CPU with and without a dashboard open in Chromium, each phase the same length and
 *     the same hook traffic: quiet (no hook call) and busy (20 observations/s over the sessions).
 * CPU is the worker process's user + system time from /proc, in CPU seconds per minute.
 *
 *   npm run bench:dashboard [-- --quick]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildDashboard } from '../scripts/build-dashboard.js';
import { type Browser, launchBrowser } from '../test/support/browser.js';
import { freePort, startServer, stopServer } from './lib/http.js';
import { log, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const SESSIONS = 1_000;
const PHASE_SECONDS = args.quick ? 15 : 40;
/** Phases alternate without / with, this many times each, so that drift on a shared machine falls on both. */
const ROUNDS = args.quick ? 2 : 3;
const BUSY_PER_SECOND = 20;
const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(base: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** The stream's first message (a snapshot of everything), and its size on the wire. */
async function firstMessage(base: string): Promise<{ bytes: number; data: { stats: { dormant: number } } }> {
  const response = await fetch(`${base}/dashboard/api/stream`);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('\n\n')) text += decoder.decode((await reader.read()).value, { stream: true });
  await reader.cancel();
  const message = text.slice(0, text.indexOf('\n\n') + 2);
  return { bytes: Buffer.byteLength(message), data: JSON.parse(/^data: (.*)$/m.exec(message)![1]!) };
}

await buildDashboard();
const dataDir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const worker = await startServer(
  process.execPath,
  ['--import', 'tsx', cli, 'serve'],
  {
    CLAUDE_MEM_DATA_DIR: dataDir,
    CLAUDE_MEM_WORKER_PORT: String(port),
    CLAUDE_MEM_MAX_ACTIVE_SESSIONS: String(SESSIONS * 2),
    CLAUDE_MEM_LOG_LEVEL: 'warn',
  },
  port,
);
// From here on, a failure or a signal stops the worker (killOnExit in startServer) and the browser.
let browser: Browser | undefined;
try {
  const chromium = await launchBrowser({ viewport: { width: 1400, height: 900 } });
  browser = chromium;
  // ── 1,000 live sessions ─────────────────────────────────────────────────────────────────────────
  const ids = Array.from({ length: SESSIONS }, (_, i) => `bench-session-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < ids.length; i += 25) {
    await Promise.all(
      ids
        .slice(i, i + 25)
        .map((id, j) =>
          post(base, '/api/sessions/init', { contentSessionId: id, project: `project-${(i + j) % 7}`, prompt: `work on ${id}` }),
        ),
    );
  }
  for (;;) {
    const { sessions } = (await (await fetch(`${base}/api/sessions`)).json()) as { sessions: { lifecycle: string }[] };
    if (sessions.length === SESSIONS && sessions.every((s) => s.lifecycle === 'idle')) break;
    await sleep(200);
  }
  log(`${SESSIONS} live sessions, all idle`);

  // ── transfer size ───────────────────────────────────────────────────────────────────────────────
  const transfer = await chromium.context.newPage();
  const files: { url: string; bytes: number; encoding: string }[] = [];
  transfer.on('requestfinished', async (request) => {
    const url = request.url();
    if (url.includes('/dashboard/api/')) return;
    const sizes = await request.sizes();
    const response = await request.response();
    files.push({
      url: url.replace(base, ''),
      bytes: sizes.responseBodySize + sizes.responseHeadersSize,
      encoding: (await response?.allHeaders())?.['content-encoding'] ?? 'identity',
    });
  });
  await transfer.goto(`${base}/`);
  await transfer.waitForSelector('#sessions-table tr[data-session-id="1000"]');
  // The session page adds the statechart: every file the dashboard has.
  await transfer.click('#sessions-table tr[data-session-id="1"] td.id a');
  await transfer.waitForSelector('#session-view [data-part="statechart"] .current');
  await sleep(500);
  await transfer.close();
  const pageBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  log(`page: ${pageBytes} bytes over ${files.length} requests (${files.map((f) => `${f.url} ${f.bytes} ${f.encoding}`).join(', ')})`);
  const snapshot = await firstMessage(base);
  log(`first stream message with ${SESSIONS} sessions: ${snapshot.bytes} bytes`);
  // Sessions idle for a minute go dormant (a snapshot each): let that pass before measuring anything.
  for (const started = Date.now(); (await firstMessage(base)).data.stats.dormant < SESSIONS; ) {
    if (Date.now() - started > 180_000) throw new Error('the sessions did not go dormant in 3 minutes');
    await sleep(2_000);
  }
  log(`${SESSIONS} sessions dormant`);

  // ── CPU with and without a dashboard ────────────────────────────────────────────────────────────
  let sent = 0;
  const traffic = (perSecond: number) => {
    if (perSecond === 0) return () => {};
    const timer = setInterval(() => {
      const id = ids[sent++ % ids.length]!;
      void post(base, '/api/sessions/observations', {
        contentSessionId: id,
        tool_name: 'Bash',
        tool_input: { command: `ls ${sent}` },
        tool_response: 'a.ts b.ts',
        cwd: '/repo',
        tool_use_id: `bench-${sent}`,
      }).catch((error: Error) => log(`observation failed: ${error.message}`));
    }, 1_000 / perSecond);
    return () => clearInterval(timer);
  };
  const dashboardWorkMs = async () => ((await (await fetch(`${base}/dashboard/api/status`)).json()) as { workMs: number }).workMs;
  const phase = async (perSecond: number, dashboard: boolean): Promise<{ cpu: number; workMs: number }> => {
    const stopTraffic = traffic(perSecond);
    const page = dashboard ? await chromium.context.newPage() : undefined;
    try {
      if (page) {
        await page.goto(`${base}/`);
        await page.waitForSelector('#connection[data-state="live"]');
      }
      await sleep(2_000); // settle
      const workBefore = await dashboardWorkMs();
      const before = cpuSeconds(worker.pid!);
      await sleep(PHASE_SECONDS * 1_000);
      const used = cpuSeconds(worker.pid!) - before;
      const work = (await dashboardWorkMs()) - workBefore;
      return { cpu: round((used * 60) / PHASE_SECONDS, 2), workMs: round((work * 60) / PHASE_SECONDS, 1) };
    } finally {
      stopTraffic();
      await page?.close();
      await sleep(500);
    }
  };
  const mean = (values: number[]) => round(values.reduce((a, b) => a + b, 0) / values.length, 2);
  const cpu: Record<
    string,
    { without: number; with: number; added: number; dashboardWorkMsPerMinute: number; rounds: { without: number; with: number }[] }
  > = {};
  for (const [name, perSecond] of [
    ['quiet', 0],
    ['busy', BUSY_PER_SECOND],
  ] as const) {
    const rounds: { without: number; with: number }[] = [];
    const work: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const without = await phase(perSecond, false);
      const withDashboard = await phase(perSecond, true);
      rounds.push({ without: without.cpu, with: withDashboard.cpu });
      work.push(withDashboard.workMs);
      log(
        `${name}, round ${r + 1}: ${without.cpu} CPU s/min without a dashboard, ${withDashboard.cpu} with one open ` +
          `(the dashboard's own work: ${withDashboard.workMs} ms/min)`,
      );
    }
    const without = mean(rounds.map((x) => x.without));
    const withDashboard = mean(rounds.map((x) => x.with));
    cpu[name] = { without, with: withDashboard, added: round(withDashboard - without, 2), dashboardWorkMsPerMinute: mean(work), rounds };
    log(`${name}: ${without} CPU s/min without a dashboard, ${withDashboard} with one open (${round(withDashboard - without, 2)} added)`);
  }

  writeSection('dashboard', `npm run bench:dashboard${args.quick ? ' -- --quick' : ''}`, {
    sessions: SESSIONS,
    phaseSeconds: PHASE_SECONDS,
    rounds: ROUNDS,
    busyObservationsPerSecond: BUSY_PER_SECOND,
    page: { bytes: pageBytes, requests: files.length, files },
    firstMessageBytes: snapshot.bytes,
    cpuSecondsPerMinute: cpu,
  });
} finally {
  await browser?.close();
  await stopServer(worker);
  rmSync(dataDir, { recursive: true, force: true });
}
