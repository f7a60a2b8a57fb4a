/**
 * In-process throughput, in its own process (run by bench/costs.ts): hook events (a prompt, 100
 * observations, a summarize per session) accepted and answered per second, with the shared agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock/index.js';
import { createMemoryStore, type EventStore, openSqliteStore } from '../src/index.js';
import { type Contender, createOurs, createSeedFix } from './contenders/index.js';
import { lastMessageOf, OBSERVATIONS_PER_SESSION, observationOf, promptOf, reply } from './lib/workload.js';

const { values } = parseArgs({ options: { contender: { type: 'string' }, sessions: { type: 'string', default: '200' } } });
const dir = mkdtempSync(join(tmpdir(), 'throughput-'));

function contenderFor(name: string, store?: EventStore): Contender {
  const options = { clock: systemClock, reply, idleTtlMs: 3_600_000 };
  if (name === 'seed-fix') return createSeedFix(options);
  // The per-item cost: one call per item, as seed-fix makes (`-batched` keeps the default batches).
  return createOurs({ ...options, ...(store ? { store } : {}), registry: { maxBatchItems: name.endsWith('-batched') ? undefined : 1 } });
}

async function run(contender: Contender, from: number, sessions: number): Promise<number> {
  const started = performance.now();
  for (let s = from; s < from + sessions; s++) {
    const id = `content-${s}`;
    await contender.init(id, 'bench', promptOf(s));
    for (let i = 1; i <= OBSERVATIONS_PER_SESSION; i++) await contender.observe(id, observationOf(s, i));
    await contender.summarize(id, lastMessageOf(s));
  }
  await contender.idle();
  return (sessions * (OBSERVATIONS_PER_SESSION + 2)) / ((performance.now() - started) / 1_000);
}

const name = values.contender!;
const store = name.startsWith('ours-memory')
  ? createMemoryStore()
  : name.startsWith('ours-sqlite')
    ? openSqliteStore(join(dir, 'log.db'))
    : undefined;
const contender = contenderFor(name, store);
await run(contender, 0, 20); // warm-up: JIT, caches
const eventsPerSecond = await run(contender, 1_000, Number(values.sessions));
await contender.close();
store?.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ contender: name, eventsPerSecond })}\n`);
