/**
 * One contender through the soak, in its own process (run by bench/soak.ts, with --expose-gc):
 * sessions arriving over the simulated hours, each a prompt, 100 observations and a summarize, then
 * silence. Every `--sample-every` sessions, the heap after a full collection is printed as a JSON line.
 */
import { parseArgs } from 'node:util';
import FlatQueue from 'flatqueue';
import { CONTENDERS, type ContenderName, createContender } from './contenders/index.js';
import { drain, SimulatedClock } from './lib/simulated-clock.js';
import { lastMessageOf, observationOf, promptOf, reply, stepAt } from './lib/workload.js';

const { values } = parseArgs({
  options: {
    contender: { type: 'string' },
    sessions: { type: 'string', default: '20000' },
    hours: { type: 'string', default: '72' },
    'sample-every': { type: 'string', default: '500' },
    'stop-at-heap-mb': { type: 'string', default: '0' },
    'ttl-minutes': { type: 'string', default: '60' },
  },
});
const name = values.contender as ContenderName;
if (!CONTENDERS.includes(name)) throw new Error(`--contender must be one of ${CONTENDERS.join(', ')}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

const sessions = Number(values.sessions);
const spacingMs = (Number(values.hours) * 3_600_000) / sessions;
const sampleEvery = Number(values['sample-every']);
const stopAtBytes = Number(values['stop-at-heap-mb']) * 1024 * 1024;
const clock = new SimulatedClock(0);
const contender = createContender(name, { clock, reply, idleTtlMs: Number(values['ttl-minutes']) * 60_000 });

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const emit = (record: object) => process.stdout.write(`${JSON.stringify({ contender: name, ...record })}\n`);
const started = performance.now();
const baseline = heapAfterGc();
emit({ kind: 'start', sessions, spacingMs, heapBytes: baseline });

/** Each session's next step, by due time: sessions overlap as they would in use. */
const next = new FlatQueue<number>();
const stepOf = new Map<number, number>();
const arrival = (session: number) => session * spacingMs;
next.push(0, arrival(0));
stepOf.set(0, 0);
let arrived = 0;
let stopped = false;

while (next.length > 0 && !stopped) {
  const session = next.pop()!;
  const index = stepOf.get(session)!;
  const { step, offsetMs } = stepAt(index)!;
  await clock.advanceTo(arrival(session) + offsetMs);
  const contentSessionId = `content-${session}`;
  if (step.kind === 'init') await contender.init(contentSessionId, 'soak', promptOf(session));
  else if (step.kind === 'observe') await contender.observe(contentSessionId, observationOf(session, step.item));
  else await contender.summarize(contentSessionId, lastMessageOf(session));
  await drain();

  const following = stepAt(index + 1);
  if (following) {
    stepOf.set(session, index + 1);
    next.push(session, arrival(session) + following.offsetMs);
  } else stepOf.delete(session);

  if (step.kind === 'init') {
    arrived++;
    if (arrived < sessions) {
      stepOf.set(arrived, 0);
      next.push(arrived, arrival(arrived));
    }
    if (arrived % sampleEvery === 0) {
      await contender.idle();
      const heapBytes = heapAfterGc();
      emit({
        kind: 'sample',
        sessions: arrived,
        simulatedHours: clock.now() / 3_600_000,
        heapBytes,
        live: contender.liveSessions(),
        elapsedMs: performance.now() - started,
      });
      if (stopAtBytes > 0 && heapBytes >= stopAtBytes) {
        emit({ kind: 'stopped', reason: `heap reached ${Math.round(heapBytes / 1024 / 1024)} MB` });
        stopped = true;
      }
    }
  }
}
await contender.close();
emit({ kind: 'end', sessions: arrived, elapsedMs: performance.now() - started });
