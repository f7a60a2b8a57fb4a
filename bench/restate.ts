/**
 * The session engine on Restate against the embedded registry, in one run:
 *   - hook calls through Restate's ingress with 1, 2 and 3 service processes (behind one h2c
 *     balancer): sessions/s, events/s, p50/p99 of one call's answer (2xx = durable in Restate);
 *   - the embedded registry with its SQLite log, same workload, called in-process (2xx = durable in SQLite);
 *   - CPU seconds spent by restate-server and by the service processes per 1,000 events (where the cost goes);
 *   - restate-server's RSS before and after N idle sessions (bytes per idle session).
 *
 *   npx tsx bench/restate.ts [--quick]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectSessionCluster, registerSessionService, type SessionClusterClient } from '../src/cluster/index.js';
import { createLocalAgent, createSessionRegistry, openSqliteStore } from '../src/index.js';
import { startBalancer } from '../test/cluster/support/balancer.js';
import { startRestate, until } from '../test/cluster/support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from '../test/cluster/support/service-process.js';
import { freePort } from '../test/support/process.js';
import { log, mib, ratio, round, writeSection } from './lib/results.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const SESSIONS = args.quick ? 100 : 300;
const OBSERVATIONS = 4;
const CONCURRENCY = 32;
const IDLE_SESSIONS = args.quick ? 1_000 : 5_000;
const SERVICE_ENV = { CLAUDE_MEM_PROVIDER: 'local', CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '8', CLAUDE_MEM_SESSION_TTL_MINUTES: '60' };

interface Calls {
  init(contentSessionId: string): Promise<unknown>;
  observe(contentSessionId: string, k: number): Promise<unknown>;
}

interface Figures {
  readonly sessionsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly seconds: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** SESSIONS sessions, each an init and OBSERVATIONS observations in order, CONCURRENCY sessions at a time. */
async function workload(calls: Calls, prefix: string): Promise<Figures> {
  const latencies: number[] = [];
  const timed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    await call();
    latencies.push(performance.now() - started);
  };
  let nextSession = 0;
  const started = performance.now();
  const worker = async () => {
    for (let index = nextSession++; index < SESSIONS; index = nextSession++) {
      const id = `${prefix}-${index}`;
      await timed(() => calls.init(id));
      for (let k = 0; k < OBSERVATIONS; k++) await timed(() => calls.observe(id, k));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  return {
    sessionsPerSecond: round(SESSIONS / seconds),
    eventsPerSecond: round(latencies.length / seconds),
    p50Ms: round(percentile(latencies, 50), 1),
    p99Ms: round(percentile(latencies, 99), 1),
    seconds: round(seconds, 1),
  };
}

const clusterCalls = (client: SessionClusterClient): Calls => ({
  init: (id) => client.init({ contentSessionId: id, project: 'bench' }, { prompt: `prompt of ${id}`, promptNumber: 1 }),
  observe: (id, k) =>
    client.enqueue({ contentSessionId: id }, { kind: 'observation', prompt: `observation ${k} of ${id}`, toolUseId: `${id}-${k}` }),
});

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) * 1024;
}

/** Invocations of each handler between two readings of the balancer's counts, per hook event. */
function perEvent(after: Map<string, number>, before: Map<string, number>, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [handler, count] of after) {
    const grown = count - (before.get(handler) ?? 0);
    if (grown > 0) out[handler] = round(grown / events, 2);
  }
  return out;
}

/** Invocations Restate holds for later (delayed messages: timers armed and not yet fired), by handler. */
async function scheduled(adminUrl: string): Promise<Record<string, number>> {
  const response = await fetch(`${adminUrl}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query:
        "SELECT target_service_name AS service, target_handler_name AS handler, count(*) AS n FROM sys_invocation WHERE status = 'scheduled' GROUP BY target_service_name, target_handler_name",
    }),
  });
  if (!response.ok) return { error: response.status };
  const rows = ((await response.json()) as { rows: { service: string; handler: string; n: number }[] }).rows;
  return Object.fromEntries(rows.map((row) => [`${row.service}/${row.handler}`, Number(row.n)]));
}

/** Every agent slot free and nobody waiting, five readings in a row: the work is processed. */
async function drained(client: SessionClusterClient): Promise<void> {
  let quiet = 0;
  await until(
    async () => {
      const slots = await client.slots();
      quiet = slots.inUse === 0 && slots.waiting === 0 ? quiet + 1 : 0;
      return quiet >= 5;
    },
    300_000,
    () => 'every item processed',
  );
}

async function restateRound(processes: number) {
  const restate = await startRestate();
  const services: ServiceProcess[] = [];
  let balancer: Awaited<ReturnType<typeof startBalancer>> | undefined;
  try {
    for (let i = 0; i < processes; i++) services.push(await startServiceProcess(await freePort(), SERVICE_ENV));
    balancer = await startBalancer(services.map((service) => service.url));
    await registerSessionService(restate.node().adminUrl, balancer.url);
    const client = connectSessionCluster({ ingressUrl: restate.node().ingressUrl });
    await workload(clusterCalls(client), `warmup-${processes}`);
    const serverCpu = cpuSeconds(restate.node().pid);
    const serviceCpu = services.reduce((sum, service) => sum + cpuSeconds(service.pid), 0);
    const invocationsBefore = new Map(balancer.invocations);
    const scheduledBefore = await scheduled(restate.node().adminUrl);
    const runStarted = performance.now();
    const figures = await workload(clusterCalls(client), `run-${processes}`);
    const events = SESSIONS * (OBSERVATIONS + 1);
    const perThousand = (seconds: number) => round((seconds / events) * 1_000, 2);
    // Agent calls go on after the last answer: wait until every item is answered, so that each event's
    // whole fan-out is counted, and the rate at which work is processed (not only accepted) is known.
    await drained(client);
    const processedPerSecond = round(events / ((performance.now() - runStarted) / 1_000));
    const scheduledAfter = await scheduled(restate.node().adminUrl);
    return {
      ...figures,
      processedEventsPerSecond: processedPerSecond,
      invocationsPerEvent: perEvent(balancer.invocations, invocationsBefore, events),
      delayedMessagesPerEvent: Object.fromEntries(
        Object.entries(scheduledAfter).map(([handler, n]) => [handler, round((n - (scheduledBefore[handler] ?? 0)) / events, 2)]),
      ),
      restateServerCpuSecondsPer1000Events: perThousand(cpuSeconds(restate.node().pid) - serverCpu),
      serviceCpuSecondsPer1000Events: perThousand(services.reduce((sum, service) => sum + cpuSeconds(service.pid), 0) - serviceCpu),
    };
  } finally {
    for (const service of services) await service.kill();
    await balancer?.close();
    await restate.stop();
  }
}

async function idleMemory() {
  const restate = await startRestate();
  const services: ServiceProcess[] = [];
  try {
    services.push(await startServiceProcess(await freePort(), SERVICE_ENV));
    await registerSessionService(restate.node().adminUrl, services[0]!.url);
    const client = connectSessionCluster({ ingressUrl: restate.node().ingressUrl });
    const calls = clusterCalls(client);
    await calls.init('idle-warmup');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = rssBytes(restate.node().pid);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let index = next++; index < IDLE_SESSIONS; index = next++) await calls.init(`idle-${index}`);
      }),
    );
    const last = (await client.lookup(`idle-${IDLE_SESSIONS - 1}`))!;
    await until(
      async () => (await client.get(last))?.state === 'idle',
      60_000,
      () => 'the last session idle',
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = rssBytes(restate.node().pid);
    return {
      idleSessions: IDLE_SESSIONS,
      rssBeforeMiB: mib(before),
      rssAfterMiB: mib(after),
      bytesPerIdleSession: round((after - before) / IDLE_SESSIONS),
    };
  } finally {
    for (const service of services) await service.kill();
    await restate.stop();
  }
}

async function embeddedRound(): Promise<Figures & { processedEventsPerSecond: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-embedded-'));
  const store = openSqliteStore(join(dir, 'session-events.db'));
  const registry = createSessionRegistry({ agent: createLocalAgent(), store, maxActiveSessions: 100_000, memoryPressure: false });
  try {
    const calls: Calls = {
      init: (id) => registry.init({ contentSessionId: id, project: 'bench' }, { prompt: `prompt of ${id}`, promptNumber: 1 }),
      observe: (id, k) =>
        registry.enqueue({ contentSessionId: id }, { kind: 'observation', prompt: `observation ${k} of ${id}`, toolUseId: `${id}-${k}` }),
    };
    await workload(calls, 'warmup');
    const started = performance.now();
    const figures = await workload(calls, 'run');
    await until(
      () => registry.stats().byLifecycle.active === 0,
      300_000,
      () => 'every item processed',
    );
    return { ...figures, processedEventsPerSecond: round((SESSIONS * (OBSERVATIONS + 1)) / ((performance.now() - started) / 1_000)) };
  } finally {
    await registry.shutdown();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const embedded = await embeddedRound();
log(`embedded (SQLite log, in-process): ${JSON.stringify(embedded)}`);
const rounds: Record<string, Awaited<ReturnType<typeof restateRound>>> = {};
for (const processes of [1, 2, 3]) {
  rounds[`${processes}`] = await restateRound(processes);
  log(`restate, ${processes} service process(es): ${JSON.stringify(rounds[`${processes}`])}`);
}
const memory = await idleMemory();
log(`restate memory: ${JSON.stringify(memory)}`);
writeSection('restate', `npx tsx bench/restate.ts${args.quick ? ' --quick' : ''}`, {
  workload: { sessions: SESSIONS, observationsPerSession: OBSERVATIONS, concurrentSessions: CONCURRENCY, agent: 'local' },
  embedded,
  restateByServiceProcesses: rounds,
  eventsPerSecondRatioToEmbedded: Object.fromEntries(
    Object.entries(rounds).map(([n, r]) => [n, ratio(r.eventsPerSecond, embedded.eventsPerSecond)]),
  ),
  memory,
});
