/**
 * What a long session costs: one session, a prompt, then 500 observations of 5 KB in bursts (tool uses 1
 * to 3 s apart, pauses between bursts) and a summarize every 50 (bench/lib/long-session.ts), through each
 * contender's real HTTP server, against a fake Anthropic API on loopback (bench/lib/fake-anthropic.ts)
 * that bills like Anthropic: input, cache writes (1.25×), cache reads (0.1×) and output at Claude Haiku
 * 4.5's prices, with prefix caching by the documented rules (bench/lib/anthropic-cache.ts).
 *
 * Time runs `--speed` times faster than real (default 2): the hooks' spacing, the fake model's latency,
 * the cache's 5-minute TTL and the worker's gather window alike, so the 40-minute session runs in about
 * 20 minutes and forms the batches it would in real time. Contenders run side by side, each with its own
 * fake (its own cache):
 *   upstream-13   claude-mem 13.x's observer as its source describes it (bench/server-upstream13.ts)
 *   seed-fix      one call per observation, a window of 50 messages that slides (bench/server-seed-fix.ts)
 *   ours          the worker (`session-lifecycle serve`) as configured by default: batches gathered, answered
 *                 tool uses digested in the history, the history bound in steps (the default low-water mark)
 *   ours-no-gather, ours-whole  (full run) the worker without the gather window, or without the digests:
 *                 what each of them saves
 *   ours-sliding  (full run) the worker with CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT=100: the bound as it was
 *   ours-lw-N     (full run) the worker with a low-water mark of N % (10, 25, 50 but the default): how the default was chosen
 *
 * Ours runs the product's `claude` provider: the real Claude Code (the Agent SDK's optional dependency),
 * one process per batch, with ANTHROPIC_BASE_URL at its fake. Claude Code's own time per call (its
 * start, about half a second of wall clock here) cannot be compressed with the rest: at `--speed` S it
 * counts S times over in session time, which lengthens every call and so lets more observations queue
 * behind it (larger batches, fewer calls) than in real time. At the default 2 it counts about as much as
 * it does in real time on a laptop (0.6 to 1 s, docs/providers.md); at 10 (five times faster) a call
 * without a gather window forms batches about three times larger than it would. The run measures that
 * time first (the model answering at once) and reports it.
 *
 *   npm run bench:cost [-- --quick] [-- --speed 2] [-- --only 'ours|upstream']
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import {
  ChildProcesses,
  createClaudeAgent,
  DEFAULT_BATCH_QUIET_MS,
  DEFAULT_HISTORY_LOW_WATER,
  DEFAULT_WORKER_BATCH_WINDOW_MS,
  observationPrompt,
} from '../src/index.js';
import { HAIKU_4_5_CACHE_RULES, HAIKU_4_5_PRICES } from './lib/anthropic-cache.js';
import { type FakeAnthropic, HAIKU_LATENCY, REPLY_CHARS, startFakeAnthropic } from './lib/fake-anthropic.js';
import { freePort, startServer, stopServer } from './lib/http.js';
import { LONG_SESSION, type LongSessionStep, longSession, observationBody } from './lib/long-session.js';
import { log, ratio, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    speed: { type: 'string' },
    only: { type: 'string' },
  },
});
const SHAPE = args.quick ? { ...LONG_SESSION, observations: 100 } : LONG_SESSION;
// The quick run is a smoke test: fast, and its batches (see above) are not what real time forms.
const SPEED = Number(args.speed ?? (args.quick ? 20 : 2));
if (!(SPEED > 0)) throw new Error('bench:cost: --speed must be positive');
const SWEEP = args.quick ? [] : [10, 25, 50].filter((percent) => percent !== DEFAULT_HISTORY_LOW_WATER * 100);
const SESSION = 'cost-session';
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Contender {
  readonly name: string;
  readonly label: string;
  start(fake: FakeAnthropic, port: number, dir: string): ReturnType<typeof startServer>;
}

const ours = (name: string, label: string, settings: Record<string, string> = {}): Contender => ({
  name,
  label,
  start: (fake, port, dir) =>
    startServer(
      process.execPath,
      ['--import', 'tsx', here('./server-ours.ts'), 'full'],
      {
        HOME: dir,
        CLAUDE_MEM_DATA_DIR: dir,
        CLAUDE_MEM_WORKER_PORT: String(port),
        CLAUDE_MEM_LOG_LEVEL: 'warn',
        CLAUDE_MEM_PROVIDER: 'claude',
        CLAUDE_MEM_MODEL: HAIKU_4_5_PRICES.model,
        CLAUDE_MEM_CLAUDE_AUTH_METHOD: 'api-key',
        ANTHROPIC_BASE_URL: fake.baseUrl,
        ANTHROPIC_API_KEY: 'sk-ant-bench',
        // The worker's own clock is not compressed: its gather window is, by the same factor as the session.
        CLAUDE_MEM_BATCH_WINDOW_SECONDS: String(DEFAULT_WORKER_BATCH_WINDOW_MS / 1_000 / SPEED),
        CLAUDE_MEM_BATCH_QUIET_SECONDS: String(DEFAULT_BATCH_QUIET_MS / 1_000 / SPEED),
        ...settings,
      },
      port,
    ),
});

const contenders: Contender[] = [
  {
    name: 'upstream-13',
    label: 'upstream-13 (claude-mem 13.x: whole history, a call per observation)',
    start: (fake, port) =>
      startServer(process.execPath, ['--import', 'tsx', here('./server-upstream13.ts'), String(port), fake.baseUrl], {}, port),
  },
  {
    name: 'seed-fix',
    label: 'seed-fix (a call per observation, a sliding window of 50)',
    start: (fake, port) =>
      startServer(process.execPath, ['--import', 'tsx', here('./server-seed-fix.ts'), String(port), fake.baseUrl, 'anthropic'], {}, port),
  },
  ours('ours', `ours (batches gathered, answered tool uses digested, history cut in steps to ${DEFAULT_HISTORY_LOW_WATER * 100} %)`),
  ...(args.quick
    ? []
    : [
        ours('ours-no-gather', 'ours without the gather window (a batch is what queued during the last call)', {
          CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0',
        }),
        ours('ours-whole', 'ours keeping answered tool uses whole in the history (no digests)', {
          CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS: 'false',
        }),
        ours('ours-sliding', 'ours, cut only to the bound (low-water 100 %: slides)', { CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: '100' }),
      ]),
  ...SWEEP.map((percent) =>
    ours(`ours-lw-${percent}`, `ours, low-water ${percent} %`, { CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: String(percent) }),
  ),
];
const chosen = args.only === undefined ? contenders : contenders.filter((contender) => new RegExp(args.only!).test(contender.name));

async function post(port: number, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

const steps = longSession(SHAPE);
const markers = steps.flatMap((step) => (step.kind === 'init' ? [] : [step.marker]));
const lastHookAt = steps.at(-1)!.at;

function hook(port: number, step: LongSessionStep): Promise<void> {
  if (step.kind === 'init')
    return post(port, '/api/sessions/init', {
      contentSessionId: SESSION,
      project: 'bench',
      prompt: 'Fix the flaky login test and the token refresh behind it',
    });
  if (step.kind === 'summarize') {
    return post(port, '/api/sessions/summarize', {
      contentSessionId: SESSION,
      last_assistant_message: `The login test passes again (${step.marker})`,
    });
  }
  return post(port, '/api/sessions/observations', observationBody(SESSION, step, SHAPE.observationBytes));
}

const quantile = (values: readonly number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

// Session time: 0 when the first hook goes, `SPEED` times the wall clock; every fake reads it.
let epoch = Number.POSITIVE_INFINITY;
const sessionNow = () => (performance.now() - epoch) * SPEED;

interface Running {
  readonly contender: Contender;
  readonly fake: FakeAnthropic;
  readonly port: number;
  readonly dir: string;
  readonly server: Awaited<ReturnType<typeof startServer>>;
  /** Session time each marker's hook was acknowledged. */
  readonly sentAt: Map<string, number>;
}

async function open(contender: Contender): Promise<Running> {
  const fake = await startFakeAnthropic({ speed: SPEED, now: sessionNow });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-cost-'));
  try {
    return { contender, fake, port, dir, server: await contender.start(fake, port, dir), sentAt: new Map() };
  } catch (error) {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function close(running: Running): Promise<void> {
  await stopServer(running.server);
  await running.fake.close();
  rmSync(running.dir, { recursive: true, force: true });
}

function measure({ contender, fake, sentAt }: Running) {
  const calls = fake.calls;
  const sum = (pick: (call: (typeof calls)[number]) => number) => calls.reduce((total, call) => total + pick(call), 0);
  const input = sum((call) => call.inputTokens);
  const cacheWrite = sum((call) => call.cacheCreationInputTokens);
  const cacheRead = sum((call) => call.cacheReadInputTokens);
  const dollars = sum((call) => call.dollars);
  const lags = markers.filter((m) => m.startsWith('obs:')).map((m) => (fake.answered.get(m)! - sentAt.get(m)!) / 1_000);
  const lastAnswer = Math.max(...markers.map((m) => fake.answered.get(m)!));
  const byKind = (kind: string) => calls.filter((call) => call.kind === kind).length;
  return {
    label: contender.label,
    calls: calls.length,
    callsByKind: {
      observations: byKind('observations'),
      summaries: byKind('summary'),
      compactions: byKind('compaction'),
      other: byKind('other'),
    },
    observationsPerCall: round(SHAPE.observations / Math.max(1, byKind('observations')), 2),
    tokens: { input, cacheWrite, cacheRead, output: sum((call) => call.outputTokens) },
    promptTokensPerObservation: round((input + cacheWrite + cacheRead) / SHAPE.observations),
    cacheReadShare: round(cacheRead / Math.max(1, input + cacheWrite + cacheRead), 3),
    dollars: round(dollars, 4),
    dollarsPer1000Observations: round((dollars * 1_000) / SHAPE.observations, 3),
    // Where the dollars go, per 1,000 observations.
    breakdownPer1000Observations: {
      input: round((input * HAIKU_4_5_PRICES.input) / 1_000 / SHAPE.observations, 3),
      cacheWrite: round((cacheWrite * HAIKU_4_5_PRICES.cacheWrite5m) / 1_000 / SHAPE.observations, 3),
      cacheRead: round((cacheRead * HAIKU_4_5_PRICES.cacheRead) / 1_000 / SHAPE.observations, 3),
      output: round((sum((call) => call.outputTokens) * HAIKU_4_5_PRICES.output) / 1_000 / SHAPE.observations, 3),
    },
    drainSeconds: round((lastAnswer - lastHookAt) / 1_000, 1),
    answerLagSeconds: { p50: round(quantile(lags, 0.5), 1), p95: round(quantile(lags, 0.95), 1), max: round(Math.max(...lags), 1) },
    // Requests to anything but the Messages API (Claude Code makes none with its non-essential traffic off).
    otherRequests: fake.others,
    largestPromptTokens: Math.max(...calls.map((call) => call.inputTokens + call.cacheCreationInputTokens + call.cacheReadInputTokens)),
    // The chart's series: each call's prompt tokens (and how many were read from the cache), at its session time.
    series: calls.map((call) => ({
      minute: round(call.answeredAt / 60_000, 3),
      prompt: call.inputTokens + call.cacheCreationInputTokens + call.cacheReadInputTokens,
      cached: call.cacheReadInputTokens,
      dollars: round(call.dollars, 6),
    })),
  };
}

/** Claude Code's own wall-clock time per call (process start to answer), the fake model answering at once: the median of a few. */
async function claudeCodeOwnMs(): Promise<number> {
  const fake = await startFakeAnthropic({ speed: 1e9, now: () => 0 });
  const processes = new ChildProcesses({ maxRunning: 1 });
  const home = mkdtempSync(join(tmpdir(), 'bench-cost-claude-'));
  try {
    const agent = createClaudeAgent({
      processes,
      model: HAIKU_4_5_PRICES.model,
      env: { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-bench' },
    });
    const item = { id: 'o1', kind: 'observation' as const, prompt: 'obs:start-1;', promptTokens: 4, queuedAt: 0 };
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const begun = performance.now();
      await agent.run({ sessionDbId: 1, item, items: [item], history: [], attempt: 1 }, new AbortController().signal);
      times.push(performance.now() - begun);
    }
    return Math.round(quantile(times, 0.5));
  } finally {
    processes.killAll();
    await processes.settled();
    await fake.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const claudeCodeMs = await claudeCodeOwnMs();
log(
  `cost: Claude Code's own time per call: ${claudeCodeMs} ms of wall clock, ${round((claudeCodeMs * SPEED) / 1_000, 1)} s of session time at ${SPEED}×`,
);
const started = performance.now();
const running = await Promise.all(chosen.map(open));
try {
  log(
    `cost: ${running.length} contenders, ${SHAPE.observations} observations over ${round(lastHookAt / 60_000, 1)} session minutes at ${SPEED}× ` +
      `(about ${round(lastHookAt / SPEED / 1_000)} s)`,
  );
  epoch = performance.now();
  for (const step of steps) {
    const wait = epoch + step.at / SPEED - performance.now();
    if (wait > 0) await sleep(wait);
    await Promise.all(
      running.map(async (r) => {
        await hook(r.port, step);
        if (step.kind !== 'init') r.sentAt.set(step.marker, sessionNow());
      }),
    );
    if (step.kind === 'summarize') {
      log(
        `cost: ${round(sessionNow() / 60_000, 1)} min, ${step.index * SHAPE.summarizeEvery} observations sent; ${running.map((r) => `${r.contender.name} ${r.fake.answered.size}`).join(', ')} answered`,
      );
    }
  }
  // Drain: every observation and summary answered by every contender (a generous bound in session time).
  const deadline = performance.now() + (30 * 60_000) / SPEED + 60_000;
  while (!running.every((r) => markers.every((m) => r.fake.answered.has(m)))) {
    if (performance.now() > deadline) {
      const behind = running
        .filter((r) => !markers.every((m) => r.fake.answered.has(m)))
        .map((r) => `${r.contender.name} (${r.fake.answered.size}/${markers.length})`);
      throw new Error(`bench:cost: not drained: ${behind.join(', ')}`);
    }
    await sleep(20);
  }
} finally {
  await Promise.all(running.map(close));
}

const results = Object.fromEntries(running.map((r) => [r.contender.name, measure(r)]));
for (const [name, r] of Object.entries(results)) {
  log(
    `cost: ${name}: ${r.calls} calls, $${r.dollarsPer1000Observations} per 1,000 observations, ${Math.round(r.cacheReadShare * 100)} % of input read from cache, ` +
      `${r.promptTokensPerObservation} prompt tokens per observation, drain ${r.drainSeconds} s`,
  );
}
if (args.only !== undefined) process.exit(0);

// The chart: prompt tokens of each call across the session, and what the session has cost so far.
const chartNames = Object.keys(results).filter((name) => ['upstream-13', 'seed-fix', 'ours-no-gather', 'ours'].includes(name));
const points = chartNames.flatMap((name) => {
  let total = 0;
  return results[name]!.series.map((point) => {
    total += point.dollars;
    return { contender: name, minute: point.minute, prompt: point.prompt, cached: point.cached, dollars: round(total, 4) };
  });
});
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  data: { values: points },
  vconcat: [
    {
      width: 640,
      height: 260,
      title: 'Prompt tokens per LLM call across the session',
      mark: { type: 'line', strokeWidth: 1 },
      encoding: {
        x: { field: 'minute', type: 'quantitative', title: 'session time (minutes)' },
        y: { field: 'prompt', type: 'quantitative', title: 'prompt tokens (input + cache write + cache read)' },
        color: { field: 'contender', type: 'nominal', sort: chartNames },
      },
    },
    {
      width: 640,
      height: 200,
      title: 'Dollars spent so far (Claude Haiku 4.5 prices)',
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'minute', type: 'quantitative', title: 'session time (minutes)' },
        y: { field: 'dollars', type: 'quantitative', title: 'US dollars' },
        color: { field: 'contender', type: 'nominal', sort: chartNames },
      },
    },
  ],
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
writeFileSync(new URL('../docs/cost-session.svg', import.meta.url), await view.toSVG());

const per1000 = (name: string) => results[name]?.dollarsPer1000Observations ?? Number.NaN;
// What no history can undercut: each observation's prompt (ours, the smallest) sent once as plain input,
// and its answer, with nothing else in the call.
const sample = observationBody(SESSION, { index: 1, marker: 'obs:o1;' }, SHAPE.observationBytes);
const observationTokens = Math.ceil(
  observationPrompt({
    toolName: sample.tool_name,
    toolInput: sample.tool_input,
    toolResponse: sample.tool_response,
    cwd: sample.cwd,
    at: 0,
  }).length / 4,
);
const replyTokens = Math.ceil(REPLY_CHARS.observation / 4);
const floorPer1000 = round((observationTokens * HAIKU_4_5_PRICES.input + replyTokens * HAIKU_4_5_PRICES.output) / 1_000, 3);
const oursResult = results.ours!;
writeSection('cost', `npm run bench:cost${args.quick ? ' -- --quick' : ''}`, {
  speed: SPEED,
  claudeCodeOwnMs: claudeCodeMs,
  oursVia: 'claude',
  workload: { ...SHAPE, sessionMinutes: round(lastHookAt / 60_000, 1) },
  model: { prices: HAIKU_4_5_PRICES, cache: HAIKU_4_5_CACHE_RULES, latency: HAIKU_LATENCY, replyChars: REPLY_CHARS },
  defaultLowWater: DEFAULT_HISTORY_LOW_WATER,
  sweep: SWEEP,
  contenders: Object.fromEntries(Object.entries(results).map(([name, { series: _series, ...rest }]) => [name, rest])),
  floor: {
    observationTokens,
    replyTokens,
    dollarsPer1000Observations: floorPer1000,
    vsUpstream13: ratio(floorPer1000, per1000('upstream-13')),
  },
  oursVsUpstream13: ratio(per1000('ours'), per1000('upstream-13')),
  oursVsSeedFix: ratio(per1000('ours'), per1000('seed-fix')),
  aims: { vsUpstream13: 0.25, vsSeedFix: 0.25, cacheReadShare: 0.6 },
  met: {
    vsUpstream13: per1000('ours') <= 0.25 * per1000('upstream-13'),
    vsSeedFix: per1000('ours') <= 0.25 * per1000('seed-fix'),
    cacheReadShare: oursResult.cacheReadShare >= 0.6,
  },
  chart: 'docs/cost-session.svg',
  runSeconds: round((performance.now() - started) / 1_000),
});
log('written to bench/results.json (cost section) and docs/cost-session.svg');
