/**
 * What users pay: bursts of observations (a prompt, then bursts of 10 to 50 tool uses, 100 ms apart)
 * through each contender's real HTTP server, whose agent calls a fake LLM (bench/lib/fake-llm.ts) that
 * takes 1 s per call and reports the prompt's tokens. Per contender and burst size: LLM calls per 100
 * observations, prompt tokens per observation (what the user is charged), and the drain time, from a
 * burst's last observation being acknowledged to its last observation being answered.
 *
 * Contenders, each in its own process with its own fake LLM, run side by side:
 *   seed-fix        one call per observation, history bounded at 50 messages (bench/server-seed-fix.ts)
 *   ours-unbatched  our worker with CLAUDE_MEM_MAX_BATCH_ITEMS=1
 *   ours            our worker with its defaults (batches)
 *   sweep-N         (full run only) our worker with CLAUDE_MEM_MAX_BATCH_ITEMS=N on bursts of 50 that arrive
 *                   5× faster (20 ms apart), where the cap, not the arrival rate, decides a batch's size:
 *                   how the default was chosen
 *
 *   npm run bench:bursts [-- --quick]
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BATCH_ITEMS } from '../src/index.js';
import { type FakeLlm, startFakeLlm } from './lib/fake-llm.js';
import { freePort, startServer, stopServer } from './lib/http.js';
import { log, ratio, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Only the contenders whose names match (a regular expression); results are printed, not written.
    only: { type: 'string' },
  },
});
const LATENCY_MS = 1_000;
const GAP_MS = 100;
const RESPONSE_BYTES = 2_000;
const SIZES = args.quick ? [20] : [10, 20, 50];
const BURSTS_PER_SIZE = args.quick ? 2 : 3;
const SWEEP = args.quick ? [] : [5, 10, 20, 50];
const SWEEP_WORKLOAD: Workload = { sizes: [50], gapMs: 20 };

interface Workload {
  readonly sizes: readonly number[];
  readonly gapMs: number;
}
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Contender {
  readonly name: string;
  readonly workload: Workload;
  start(llm: FakeLlm, port: number, dir: string): Promise<ChildProcess>;
}

const MAIN_WORKLOAD: Workload = { sizes: SIZES, gapMs: GAP_MS };

const ours = (name: string, maxBatchItems?: number, workload = MAIN_WORKLOAD): Contender => ({
  name,
  workload,
  start: (llm, port, dir) =>
    startServer(
      process.execPath,
      ['--import', 'tsx', here('./server-ours.ts'), 'full'],
      {
        CLAUDE_MEM_DATA_DIR: dir,
        CLAUDE_MEM_WORKER_PORT: String(port),
        CLAUDE_MEM_LOG_LEVEL: 'warn',
        CLAUDE_MEM_PROVIDER: 'openai-compatible',
        CLAUDE_MEM_OPENAI_BASE_URL: llm.baseUrl,
        CLAUDE_MEM_MODEL: 'fake',
        ...(maxBatchItems === undefined ? {} : { CLAUDE_MEM_MAX_BATCH_ITEMS: String(maxBatchItems) }),
      },
      port,
    ),
});

const seedFix: Contender = {
  name: 'seed-fix',
  workload: MAIN_WORKLOAD,
  start: (llm, port) =>
    startServer(process.execPath, ['--import', 'tsx', here('./server-seed-fix.ts'), String(port), llm.baseUrl], {}, port),
};

const contenders: Contender[] = [
  seedFix,
  ours('ours-unbatched', 1),
  ours('ours'),
  ...SWEEP.map((n) => ours(`sweep-${n}`, n, SWEEP_WORKLOAD)),
];

async function post(port: number, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

async function until(check: () => boolean, what: string, ms = 600_000): Promise<void> {
  for (const started = Date.now(); !check(); await sleep(20)) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
  }
}

interface SizeResult {
  readonly observations: number;
  readonly calls: number;
  readonly callsPer100Observations: number;
  readonly promptTokensPerObservation: number;
  readonly completionTokensPerObservation: number;
  readonly largestCall: number;
  /** Observations answered by each call, in order. */
  readonly callSizes: readonly number[];
  /** Seconds from each burst's last acknowledged observation to its last answer. */
  readonly drainSeconds: readonly number[];
  readonly medianDrainSeconds: number;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** One contender: a session per burst size, a prompt, then its bursts, each drained before the next. */
async function run(contender: Contender): Promise<Record<string, SizeResult>> {
  const llm = await startFakeLlm(LATENCY_MS);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-bursty-'));
  const server = await contender.start(llm, port, dir);
  const results: Record<string, SizeResult> = {};
  try {
    for (const size of contender.workload.sizes) {
      const session = `${contender.name}-${size}`;
      await post(port, '/api/sessions/init', { contentSessionId: session, project: 'bench', prompt: 'Fix the flaky login test' });
      await until(() => llm.calls.length > 0 && llm.calls.at(-1)!.markers.length === 0, 'the prompt to be answered');
      const callsBefore = llm.calls.length;
      const drains: number[] = [];
      for (let burst = 0; burst < BURSTS_PER_SIZE; burst++) {
        const markers: string[] = [];
        let lastAck = 0;
        for (let i = 0; i < size; i++) {
          const marker = `obs:${session}-${burst}-${i};`;
          markers.push(marker);
          await post(port, '/api/sessions/observations', {
            contentSessionId: session,
            tool_name: 'Read',
            tool_input: { file_path: `/repo/src/module-${i}.ts`, marker },
            tool_response: { content: `// module ${i}\n`.padEnd(RESPONSE_BYTES, 'x') },
            cwd: '/repo',
          });
          lastAck = performance.now();
          if (i < size - 1) await sleep(contender.workload.gapMs);
        }
        await until(() => markers.every((marker) => llm.answered.has(marker)), `burst ${burst} of ${size} to be answered`);
        const lastAnswer = Math.max(...markers.map((marker) => llm.answered.get(marker)!));
        drains.push(round((lastAnswer - lastAck) / 1_000, 2));
        await sleep(200); // the last reply reaches the worker's log before the next burst
      }
      const calls = llm.calls.slice(callsBefore).filter((call) => call.markers.length > 0);
      const observations = size * BURSTS_PER_SIZE;
      const sum = (pick: (call: (typeof calls)[number]) => number) => calls.reduce((total, call) => total + pick(call), 0);
      results[size] = {
        observations,
        calls: calls.length,
        callsPer100Observations: round((calls.length * 100) / observations, 1),
        promptTokensPerObservation: round(sum((call) => call.promptTokens) / observations),
        completionTokensPerObservation: round(sum((call) => call.completionTokens) / observations),
        largestCall: Math.max(...calls.map((call) => call.markers.length)),
        callSizes: calls.map((call) => call.markers.length),
        drainSeconds: drains,
        medianDrainSeconds: round(median(drains), 2),
      };
      log(
        `bursts: ${contender.name}, bursts of ${size}: ${calls.length} calls for ${observations} observations, ` +
          `${results[size]!.promptTokensPerObservation} prompt tokens per observation, drain ${drains.join(' / ')} s`,
      );
    }
  } finally {
    await stopServer(server);
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

const chosen = args.only === undefined ? contenders : contenders.filter((contender) => new RegExp(args.only!).test(contender.name));
const started = performance.now();
// Side by side: the contenders mostly wait for their fake LLM, so running them together costs little CPU.
const measured = await Promise.all(chosen.map(async (contender) => [contender.name, await run(contender)] as const));
const byName = Object.fromEntries(measured);
if (args.only !== undefined) {
  log(JSON.stringify(byName));
  process.exit(0);
}
const at20 = (name: string) => byName[name]?.['20'];
const seed = at20('seed-fix')!;
const batched = at20('ours')!;

writeSection('bursts', `npm run bench:bursts${args.quick ? ' -- --quick' : ''}`, {
  latencyMs: LATENCY_MS,
  gapMs: GAP_MS,
  responseBytes: RESPONSE_BYTES,
  sizes: SIZES,
  burstsPerSize: BURSTS_PER_SIZE,
  defaultMaxBatchItems: DEFAULT_MAX_BATCH_ITEMS,
  sweep: SWEEP,
  sweepWorkload: SWEEP_WORKLOAD,
  contenders: byName,
  at20: {
    fewerCallsThanSeedFix: ratio(seed.callsPer100Observations, batched.callsPer100Observations),
    fasterDrainThanSeedFix: ratio(seed.medianDrainSeconds, batched.medianDrainSeconds),
    promptTokensVsSeedFix: ratio(batched.promptTokensPerObservation, seed.promptTokensPerObservation),
    aimFewerCalls: 5,
    aimFasterDrain: 3,
  },
  runSeconds: round((performance.now() - started) / 1_000),
});
log('written to bench/results.json (bursts section)');
