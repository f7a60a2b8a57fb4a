/**
 * The session engine on Restate against the embedded registry, in one run:
 *   - the worker over HTTP (claude-mem's hook routes), as `session-lifecycle serve` processes: on its
 *     embedded engine (SQLite), and on Restate (`--engine restate`, one session service process);
 *   - hook calls through Restate's ingress with 1, 2 and 3 service processes (behind one h2c
 *     balancer): sessions/s, events/s, p50/p99 of one call's answer (2xx = durable in Restate);
 *   - the embedded registry with its SQLite log, same workload, called in-process (2xx = durable in SQLite);
 *   - where the cost goes: CPU seconds of restate-server, the service processes and the worker per
 *     1,000 events; Restate invocations per hook event by handler (counted at the balancer), and the
 *     delayed messages (timers) left scheduled per event;
 *   - restate-server's RSS before and after N idle sessions (bytes per idle session).
 * Events/s is the rate at which calls are answered; processed events/s runs until every item has
 * been answered by the agent.
 *
 *   npx tsx bench/restate.ts [--quick] [--client-only] [--worker-only [--record-before]]
 *   (--client-only: no worker rounds, for older trees; --worker-only: the two worker rounds alone, printed,
 *   bench/results.json left as it is: to try a change; with --record-before, kept in the restate section as
 *   `before`, the figures of an earlier tree that later full runs keep beside theirs)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as clients from '@restatedev/restate-sdk-clients';
import { connectRestateEngine, registerSessionService, SERVICE_NAMES, SLOT_POOL_KEY, slotsApi } from '../src/cluster/index.js';
import type { SessionEngine } from '../src/index.js';
import { createLocalAgent, createSessionRegistry, openSqliteStore } from '../src/index.js';
import { startBalancer } from '../test/cluster/support/balancer.js';
import { startRestate } from '../test/cluster/support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from '../test/cluster/support/service-process.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../test/support/process.js';
import { waitFor } from '../test/support/wait.js';
import { log, mib, ratio, readResults, round, writeSection, writeSubsection } from './lib/results.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'client-only': { type: 'boolean', default: false },
    'worker-only': { type: 'boolean', default: false },
    'record-before': { type: 'boolean', default: false },
  },
});
const SESSIONS = args.quick ? 100 : 300;
const OBSERVATIONS = 4;
const CONCURRENCY = 32;
const IDLE_SESSIONS = args.quick ? 1_000 : 5_000;
// Batches do not gather here (CLAUDE_MEM_BATCH_WINDOW_SECONDS=0, as the in-process registry's default): this measures how
// fast each engine processes events, which a gather window would only delay by its quiet gap.
const SERVICE_ENV = {
  CLAUDE_MEM_PROVIDER: 'local',
  CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '8',
  CLAUDE_MEM_SESSION_TTL_MINUTES: '60',
  CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0',
};

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

/** The hook calls through the Restate engine (what a worker on Restate runs, idempotency keys included). */
const clusterCalls = (client: SessionEngine): Calls => ({
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
    // The bench's own polling for the end of the work, and the worker's disposal poll (every 2 s, not per event).
    if (handler === `${SERVICE_NAMES.slots}/stats` || handler === `${SERVICE_NAMES.index}/summary`) continue;
    const grown = count - (before.get(handler) ?? 0);
    if (grown > 0) out[handler] = round(grown / events, 2);
  }
  return out;
}

/** Delayed messages scheduled during a round, per event, by handler. */
function delayedPerEvent(after: Record<string, number>, before: Record<string, number>, events: number): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([handler, n]) => [handler, round((n - (before[handler] ?? 0)) / events, 2)]));
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

/**
 * What restate-server itself counts (its Prometheus endpoint on the node's fabric port): records
 * committed to its log (Bifrost), commands applied by its partition processors by type, and syncs
 * of its log server's write-ahead log. Read before and after a round, per event: where its CPU goes.
 */
async function serverCounters(fabricPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${fabricPort}/metrics`)).text();
  const counters = new Map<string, number>();
  const add = (name: string, value: number) => counters.set(name, (counters.get(name) ?? 0) + value);
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('restate_bifrost_sequencer_committed_records_total')) add('logRecords', value);
    else if (line.startsWith('restate_partition_shuffle_message_total')) add('shuffledMessages', value);
    else if (line.startsWith('restate_rocksdb_wal_synced_total') && line.includes('db="log-server"')) add('logWalSyncs', value);
    else if (line.startsWith('restate_partition_apply_command_duration_seconds_count')) {
      const command = /command="([^"]+)"/.exec(line)?.[1];
      if (command !== undefined) add(`command ${command}`, value);
    }
  }
  return counters;
}

/** Counters grown between two readings, per event (commands under `commandsPerEvent`). */
function countersPerEvent(after: Map<string, number>, before: Map<string, number>, events: number) {
  const grown = (name: string) => round(((after.get(name) ?? 0) - (before.get(name) ?? 0)) / events, 2);
  const commands: Record<string, number> = {};
  for (const name of after.keys()) if (name.startsWith('command ') && grown(name) > 0) commands[name.slice(8)] = grown(name);
  return {
    logRecordsPerEvent: grown('logRecords'),
    shuffledMessagesPerEvent: grown('shuffledMessages'),
    logWalSyncsPerEvent: grown('logWalSyncs'),
    commandsPerEvent: Object.fromEntries(Object.entries(commands).sort((a, b) => b[1] - a[1])),
  };
}

/** Every agent slot free and nobody waiting, five readings in a row: the work is processed (read from the slot pool alone). */
async function drained(ingressUrl: string): Promise<void> {
  const pool = clients.connect({ url: ingressUrl }).objectClient(slotsApi, SLOT_POOL_KEY);
  let quiet = 0;
  await waitFor(
    async () => {
      const slots = await pool.stats();
      quiet = slots.inUse === 0 && slots.waiting === 0 ? quiet + 1 : 0;
      return quiet >= 5;
    },
    { timeoutMs: 300_000, what: () => 'every item processed' },
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
    const client = connectRestateEngine({ ingressUrl: restate.node().ingressUrl });
    await workload(clusterCalls(client), `warmup-${processes}`);
    await drained(restate.node().ingressUrl);
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
    await drained(restate.node().ingressUrl);
    await client.close();
    const processedPerSecond = round(events / ((performance.now() - runStarted) / 1_000));
    const scheduledAfter = await scheduled(restate.node().adminUrl);
    return {
      ...figures,
      processedEventsPerSecond: processedPerSecond,
      invocationsPerEvent: perEvent(balancer.invocations, invocationsBefore, events),
      delayedMessagesPerEvent: delayedPerEvent(scheduledAfter, scheduledBefore, events),
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
    const client = connectRestateEngine({ ingressUrl: restate.node().ingressUrl });
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
    const last = { contentSessionId: `idle-${IDLE_SESSIONS - 1}` };
    // Slots are first come first served: the last session's prompt is answered after every other one.
    await waitFor(async () => (await client.get(last))?.state === 'idle', {
      timeoutMs: Math.max(60_000, IDLE_SESSIONS * 60),
      what: () => 'the last session idle',
    });
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
    await waitFor(() => registry.stats().byLifecycle.active === 0, { timeoutMs: 300_000, what: () => 'every item processed' });
    return { ...figures, processedEventsPerSecond: round((SESSIONS * (OBSERVATIONS + 1)) / ((performance.now() - started) / 1_000)) };
  } finally {
    await registry.shutdown();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hook routes of a worker on `port`, over HTTP with keep-alive (fetch). */
function httpCalls(port: number): Calls {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text}`);
    return text;
  };
  return {
    init: (id) => post('/api/sessions/init', { contentSessionId: id, project: 'bench', prompt: `prompt of ${id}` }),
    observe: (id, k) =>
      post('/api/sessions/observations', {
        contentSessionId: id,
        tool_name: 'Bash',
        tool_input: { command: `observation ${k} of ${id}` },
        tool_response: { stdout: 'ok' },
        cwd: '/bench',
        tool_use_id: `${id}-${k}`,
      }),
  };
}

/** No session of the worker is active any more (each read of the list is one GET). */
async function workerDrained(port: number): Promise<void> {
  await waitFor(
    async () => {
      const { sessions } = (await (await fetch(`http://127.0.0.1:${port}/api/sessions`)).json()) as { sessions: { lifecycle: string }[] };
      return sessions.every((session) => session.lifecycle !== 'active');
    },
    { timeoutMs: 300_000, what: () => 'every item processed by the worker' },
  );
}

/**
 * The worker as its own process (`session-lifecycle serve`), over HTTP: on its embedded engine, or on
 * Restate with one session service process. Same workload; answers are claude-mem's.
 */
async function workerRound(engine: 'embedded' | 'restate') {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-worker-${engine}-`));
  const port = await freePort();
  const restate = engine === 'restate' ? await startRestate() : undefined;
  const services: ServiceProcess[] = [];
  let balancer: Awaited<ReturnType<typeof startBalancer>> | undefined;
  let worker: WorkerProcess | undefined;
  try {
    const env: Record<string, string> = { CLAUDE_MEM_DATA_DIR: dataDir, CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '100000', ...SERVICE_ENV };
    if (restate !== undefined) {
      services.push(await startServiceProcess(await freePort(), SERVICE_ENV));
      balancer = await startBalancer(services.map((service) => service.url));
      await registerSessionService(restate.node().adminUrl, balancer.url);
      Object.assign(env, { CLAUDE_MEM_ENGINE: 'restate', CLAUDE_MEM_RESTATE_INGRESS_URL: restate.node().ingressUrl });
    }
    worker = await startWorkerProcess({ ...env, CLAUDE_MEM_LOG_LEVEL: 'warn' }, port);
    const calls = httpCalls(port);
    // The end of the work is watched without the worker (its list would cost a read per session, counted below).
    const watch = restate?.node().ingressUrl;
    const finished = () => (watch === undefined ? workerDrained(port) : drained(watch));
    await workload(calls, `warmup-${engine}`);
    await finished();
    const pids = { worker: worker.child.pid!, server: restate?.node().pid, services: services.map((service) => service.pid) };
    const cpuBefore = {
      worker: cpuSeconds(pids.worker),
      server: pids.server ? cpuSeconds(pids.server) : 0,
      services: sum(pids.services.map(cpuSeconds)),
    };
    const invocationsBefore = new Map(balancer?.invocations ?? []);
    const scheduledBefore = restate === undefined ? {} : await scheduled(restate.node().adminUrl);
    const fabricPort = restate?.node().options.ports.fabric;
    const countersBefore = fabricPort === undefined ? new Map<string, number>() : await serverCounters(fabricPort);
    const started = performance.now();
    const figures = await workload(calls, `run-${engine}`);
    await finished();
    const events = SESSIONS * (OBSERVATIONS + 1);
    const perThousand = (seconds: number) => round((seconds / events) * 1_000, 2);
    return {
      ...figures,
      processedEventsPerSecond: round(events / ((performance.now() - started) / 1_000)),
      workerCpuSecondsPer1000Events: perThousand(cpuSeconds(pids.worker) - cpuBefore.worker),
      ...(restate === undefined
        ? {}
        : {
            restateServerCpuSecondsPer1000Events: perThousand(cpuSeconds(pids.server!) - cpuBefore.server),
            serviceCpuSecondsPer1000Events: perThousand(sum(pids.services.map(cpuSeconds)) - cpuBefore.services),
            invocationsPerEvent: perEvent(balancer!.invocations, invocationsBefore, events),
            delayedMessagesPerEvent: delayedPerEvent(await scheduled(restate.node().adminUrl), scheduledBefore, events),
            server: countersPerEvent(await serverCounters(fabricPort!), countersBefore, events),
          }),
    };
  } finally {
    if (worker !== undefined) {
      process.kill(worker.child.pid!, 'SIGKILL');
      await worker.exited;
    }
    for (const service of services) await service.kill();
    await balancer?.close();
    await restate?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

const embedded = await embeddedRound();
log(`embedded (SQLite log, in-process): ${JSON.stringify(embedded)}`);
const workers: Record<string, Awaited<ReturnType<typeof workerRound>>> = {};
if (!args['client-only']) {
  for (const engine of ['embedded', 'restate'] as const) {
    workers[engine] = await workerRound(engine);
    log(`worker over HTTP, ${engine} engine: ${JSON.stringify(workers[engine])}`);
  }
}
if (args['worker-only']) {
  log(`worker on Restate / embedded worker: ${ratio(workers.restate!.eventsPerSecond, workers.embedded!.eventsPerSecond)}× the events/s`);
  if (args['record-before'])
    writeSubsection('restate', 'before', `npx tsx bench/restate.ts${args.quick ? ' --quick' : ''} --worker-only --record-before`, {
      workload: { sessions: SESSIONS, observationsPerSession: OBSERVATIONS, concurrentSessions: CONCURRENCY, agent: 'local' },
      workerOverHttp: workers,
    });
  process.exit(0);
}
const rounds: Record<string, Awaited<ReturnType<typeof restateRound>>> = {};
for (const processes of [1, 2, 3]) {
  rounds[`${processes}`] = await restateRound(processes);
  log(`restate, ${processes} service process(es): ${JSON.stringify(rounds[`${processes}`])}`);
}
const memory = await idleMemory();
log(`restate memory: ${JSON.stringify(memory)}`);
// Phase 1's figures (the same script with --client-only on the tree before phase 2) and those of the tree
// before issue 21's changes (--worker-only --record-before) stay with the section.
const { phase1, before } = (readResults().restate ?? {}) as { phase1?: unknown; before?: unknown };
writeSection('restate', `npx tsx bench/restate.ts${args.quick ? ' --quick' : ''}`, {
  ...(phase1 === undefined ? {} : { phase1 }),
  ...(before === undefined ? {} : { before }),
  workload: { sessions: SESSIONS, observationsPerSession: OBSERVATIONS, concurrentSessions: CONCURRENCY, agent: 'local' },
  embedded,
  ...(args['client-only'] ? {} : { workerOverHttp: workers }),
  restateByServiceProcesses: rounds,
  eventsPerSecondRatioToEmbedded: Object.fromEntries(
    Object.entries(rounds).map(([n, r]) => [n, ratio(r.eventsPerSecond, embedded.eventsPerSecond)]),
  ),
  memory,
});
