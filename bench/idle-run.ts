/**
 * Bytes per idle session, in its own process (run by bench/costs.ts, with --expose-gc): N sessions,
 * each a one-character prompt answered with one character, then left idle (dormant, for ours), and
 * the heap after a full collection, less the heap before, divided by N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock/index.js';
import { openSqliteStore } from '../src/index.js';
import { type Contender, createOurs, createSeedFix } from './contenders/index.js';

const { values } = parseArgs({ options: { contender: { type: 'string' }, sessions: { type: 'string', default: '100000' } } });
const sessions = Number(values.sessions);
const gc = (globalThis as { gc?: () => void }).gc!;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const options = { clock: systemClock, reply: async () => 'r', idleTtlMs: 3_600_000 };
const dir = mkdtempSync(join(tmpdir(), 'idle-'));
const store = values.contender === 'ours-sqlite' ? openSqliteStore(join(dir, 'log.db')) : undefined;

let contender: Contender;
switch (values.contender) {
  case 'seed-fix':
    contender = createSeedFix(options);
    break;
  case 'ours-awake':
    contender = createOurs({ ...options, registry: { hibernateAfterMs: false } });
    break;
  case 'ours':
  case 'ours-sqlite':
    contender = createOurs({ ...options, ...(store ? { store } : {}), registry: { hibernateAfterMs: 100 } });
    break;
  default:
    throw new Error(`unknown contender ${values.contender}`);
}

const before = heap();
for (let n = 0; n < sessions; n++) await contender.init(`content-session-${n}`, 'project', 'p');
await contender.idle();
// Long enough idle for ours to go dormant (hibernateAfterMs 100 ms), for all.
await new Promise((resolve) => setTimeout(resolve, 1_000));
const after = heap();
process.stdout.write(
  `${JSON.stringify({ contender: values.contender, sessions, live: contender.liveSessions(), bytesPerSession: (after - before) / sessions })}\n`,
);
await contender.close();
store?.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
