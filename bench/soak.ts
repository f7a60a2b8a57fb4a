/**
 * The soak: one workload through leaky, seed-fix and ours, each in its own process, in one run.
 * Sessions arrive over 72 simulated hours; each is a prompt, 100 observations of about 5 KB (replies of
 * about 1 KB) and a summarize, then silence. Heap after a full collection every 500 sessions.
 *
 *   npm run soak                  20,000 sessions each (leaky until 2 GB of heap)
 *   npm run soak -- --quick       3,000 sessions (leaky until 512 MB), part of `npm run bench`
 *
 * Writes bench/soak.csv, docs/soak-heap.svg and the `soak` section of bench/results.json.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { killOnExit } from '../test/support/children.js';
import { CONTENDERS, type ContenderName } from './contenders/index.js';
import { log, mib, round, writeSection } from './lib/results.js';
import { OBSERVATION_BYTES, OBSERVATIONS_PER_SESSION, REPLY_BYTES } from './lib/workload.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const SESSIONS = args.quick ? 3_000 : 20_000;
const SAMPLE_EVERY = 500;
const LEAKY_STOP_MB = args.quick ? 512 : 2_048;
const HOURS = 72;

interface Sample {
  readonly contender: ContenderName;
  readonly sessions: number;
  readonly simulatedHours: number;
  readonly heapBytes: number;
  readonly live: number;
  readonly elapsedMs: number;
}

function run(contender: ContenderName): Promise<{ samples: Sample[]; baselineBytes: number; elapsedMs: number; stopped?: string }> {
  const runner = fileURLToPath(new URL('./soak-run.ts', import.meta.url));
  const child = killOnExit(
    spawn(
      process.execPath,
      [
        '--expose-gc',
        `--max-old-space-size=${contender === 'leaky' ? LEAKY_STOP_MB * 2 + 512 : 2_048}`,
        '--import',
        'tsx',
        runner,
        '--contender',
        contender,
        '--sessions',
        String(SESSIONS),
        '--hours',
        String(HOURS),
        '--sample-every',
        String(SAMPLE_EVERY),
        ...(contender === 'leaky' ? ['--stop-at-heap-mb', String(LEAKY_STOP_MB)] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  const samples: Sample[] = [];
  let baselineBytes = 0;
  let elapsedMs = 0;
  let stopped: string | undefined;
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const record = JSON.parse(line);
      if (record.kind === 'start') baselineBytes = record.heapBytes;
      if (record.kind === 'sample') {
        samples.push(record);
        log(
          `  ${contender}: ${record.sessions} sessions, ${round(record.simulatedHours, 1)} h, heap ${mib(record.heapBytes)} MB, ${record.live} live`,
        );
      }
      if (record.kind === 'stopped') stopped = record.reason;
      if (record.kind === 'end') elapsedMs = record.elapsedMs;
    }
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve({ samples, baselineBytes, elapsedMs, ...(stopped ? { stopped } : {}) })
        : reject(new Error(`${contender} exited ${code}`)),
    ),
  );
}

/** Least-squares slope of heap (MB) against sessions, per 1,000 sessions. */
function slopePerThousand(samples: readonly Sample[]): number {
  const xs = samples.map((s) => s.sessions);
  const ys = samples.map((s) => s.heapBytes / 1024 / 1024);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : (num / den) * 1_000;
}

/** Growth of the heap over the second half of the run: from the sample at the midpoint to the last. */
function lastHalfGrowth(samples: readonly Sample[]): number {
  const last = samples.at(-1)!;
  const mid = samples.reduce((best, s) =>
    Math.abs(s.sessions - last.sessions / 2) < Math.abs(best.sessions - last.sessions / 2) ? s : best,
  );
  return (last.heapBytes - mid.heapBytes) / mid.heapBytes;
}

log(
  `soak: ${SESSIONS} sessions over ${HOURS} simulated hours, ${OBSERVATIONS_PER_SESSION} observations of ${OBSERVATION_BYTES} B each, replies of ${REPLY_BYTES} B`,
);
const runs = {} as Record<ContenderName, Awaited<ReturnType<typeof run>>>;
for (const contender of CONTENDERS) {
  log(`soak: ${contender}`);
  runs[contender] = await run(contender);
}

const all = CONTENDERS.flatMap((c) => runs[c].samples);
const csv = [
  'contender,sessions,simulated_hours,heap_mb,live_sessions',
  ...all.map((s) => `${s.contender},${s.sessions},${round(s.simulatedHours, 2)},${mib(s.heapBytes)},${s.live}`),
].join('\n');
writeFileSync(new URL('./soak.csv', import.meta.url), `${csv}\n`);

const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `Heap after a full GC, ${SESSIONS.toLocaleString('en')} sessions over ${HOURS} simulated hours`,
  width: 640,
  height: 320,
  background: 'white',
  data: { values: all.map((s) => ({ contender: s.contender, sessions: s.sessions, heap: mib(s.heapBytes) })) },
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'sessions', type: 'quantitative', title: 'sessions' },
    y: { field: 'heap', type: 'quantitative', title: 'heap used (MB, log scale)', scale: { type: 'log' } },
    color: { field: 'contender', type: 'nominal', sort: [...CONTENDERS], scale: { range: ['#d62728', '#1f77b4', '#2ca02c'] } },
  },
};
const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
writeFileSync(new URL('../docs/soak-heap.svg', import.meta.url), await view.toSVG());

const summary = Object.fromEntries(
  CONTENDERS.map((c) => {
    const { samples, baselineBytes, elapsedMs, stopped } = runs[c];
    return [
      c,
      {
        sessions: samples.at(-1)?.sessions ?? 0,
        baselineMb: mib(baselineBytes),
        finalHeapMb: mib(samples.at(-1)?.heapBytes ?? 0),
        maxHeapMb: mib(Math.max(...samples.map((s) => s.heapBytes))),
        finalLiveSessions: samples.at(-1)?.live ?? 0,
        slopeMbPerThousandSessions: round(slopePerThousand(samples), 2),
        lastHalfGrowthPercent: round(lastHalfGrowth(samples) * 100, 2),
        elapsedSeconds: round(elapsedMs / 1_000, 1),
        ...(stopped ? { stopped } : {}),
      },
    ];
  }),
);
const oursFlat = summary.ours!.lastHalfGrowthPercent < 5;
writeSection('soak', `npm run soak${args.quick ? ' -- --quick' : ''}`, {
  sessions: SESSIONS,
  simulatedHours: HOURS,
  observationsPerSession: OBSERVATIONS_PER_SESSION,
  observationBytes: OBSERVATION_BYTES,
  replyBytes: REPLY_BYTES,
  sampleEvery: SAMPLE_EVERY,
  leakyStopMb: LEAKY_STOP_MB,
  contenders: summary,
  oursFlat,
  csv: 'bench/soak.csv',
  chart: 'docs/soak-heap.svg',
});
for (const c of CONTENDERS) {
  const s = summary[c]!;
  log(
    `soak: ${c.padEnd(8)} ${String(s.sessions).padStart(6)} sessions  heap ${s.finalHeapMb} MB (max ${s.maxHeapMb})  slope ${s.slopeMbPerThousandSessions} MB/1000 sessions  last-half growth ${s.lastHalfGrowthPercent}%${s.stopped ? `  (${s.stopped})` : ''}`,
  );
}
log(
  `soak: ours ${oursFlat ? 'stayed flat' : 'did NOT stay flat'} (growth over the last half ${summary.ours!.lastHalfGrowthPercent}%, limit 5%)`,
);
