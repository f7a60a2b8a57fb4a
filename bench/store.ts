/**
 * The event log's costs, durable against in-memory, in one run:
 *   - append throughput: in-memory; SQLite batched (a commit per 1,000 events); SQLite unbatched (a commit
 *     per event, what a lone request pays);
 *   - recovery of 1,000,000 logged events: from snapshots plus tails, and from scratch.
 *
 *   npm run bench:store            (full: 1,000,000 events)
 *   npm run bench:store -- --quick (100,000 events)
 */

import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createActor, type InspectionEvent } from 'xstate';
import { DEFAULT_SESSION_SETTINGS, type SessionEvent, sessionMachine } from '../machines/session.machine.js';
import { createMemoryStore, createSessionRegistry, type EventStore, openSqliteStore } from '../src/index.js';
import { endWithParent } from '../test/support/children.js';
import { log, mib, ratio, round, writeSection } from './lib/results.js';

// It starts no process, but a SIGTERM to `npm run bench` ends only the shell above it.
endWithParent();

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const LOG_EVENTS = args.quick ? 100_000 : 1_000_000;
const SNAPSHOT_EVERY = 500;
const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));

const prompt = 'PostToolUse Edit src/auth/login.ts: replaced the session check with a token refresh. '.repeat(8);
const appendPayload = {
  type: 'WORK_QUEUED',
  item: { id: 'toolu_01ABC', kind: 'observation', prompt, promptTokens: 170, toolUseId: 'toolu_01ABC', queuedAt: 0 },
  at: 0,
};

/** Appends `events`, awaiting a durable commit every `commitEvery` of them (1: each one, as a lone request does). */
async function appendRate(store: EventStore, events: number, commitEvery: number): Promise<number> {
  const { sessionDbId } = store.openSession(`append-${commitEvery}-${Math.random()}`, 'bench', 0);
  const started = performance.now();
  for (let i = 1; i <= events; i++) {
    store.append(sessionDbId, { type: 'WORK_QUEUED', payload: appendPayload, at: i });
    if (i % commitEvery === 0) await store.flush();
  }
  await store.flush();
  return events / ((performance.now() - started) / 1_000);
}

// ── append throughput ──────────────────────────────────────────────────────────────────────────────
log(`append: ${JSON.stringify(appendPayload).length} bytes per event`);
const memoryRate = await appendRate(createMemoryStore(), 200_000, 1_000);
const sqliteForAppends = openSqliteStore(join(dir, 'append.db'));
const batchedRate = await appendRate(sqliteForAppends, 200_000, 1_000);
const unbatchedRate = await appendRate(sqliteForAppends, 20_000, 1);
sqliteForAppends.close();
const fsyncStore = openSqliteStore(join(dir, 'append-fsync.db'), { durability: 'power-loss' });
const fsyncUnbatchedRate = await appendRate(fsyncStore, 2_000, 1);
fsyncStore.close();
log(
  `append: memory ${round(memoryRate)}/s, sqlite batched ${round(batchedRate)}/s, unbatched ${round(unbatchedRate)}/s, unbatched+fsync ${round(fsyncUnbatchedRate)}/s`,
);

// ── a log of LOG_EVENTS events, exactly as session actors process them ──────────────────────────────
/**
 * Each session: created, a prompt, then observations, each granted a slot and answered, then idle.
 * Events are sent to the real machine and logged from its inspection, with a snapshot every
 * SNAPSHOT_EVERY events, and one when the session goes dormant after its last event, as the registry does.
 */
function writeLog(stores: EventStore[]): { sessions: number; events: number } {
  const machine = sessionMachine;
  let events = 0;
  let sessions = 0;
  let at = 1_700_000_000_000;
  while (events < LOG_EVENTS) {
    sessions++;
    const contentSessionId = `session-${sessions}`;
    const ids = stores.map((store) => store.openSession(contentSessionId, 'bench', at).sessionDbId);
    let seq = 0;
    let lastSnapshotSeq = 0;
    let lastValue: ReturnType<typeof actor.getSnapshot> | undefined;
    const actor = createActor(machine, {
      input: {
        sessionDbId: ids[0]!,
        contentSessionId,
        project: 'bench',
        settings: { ...DEFAULT_SESSION_SETTINGS, maxHistoryMessages: 50 },
        at,
      },
      clock: { setTimeout: () => 0, clearTimeout: () => {} },
      inspect: (inspection: InspectionEvent) => {
        if (inspection.type !== '@xstate.snapshot' || inspection.actorRef.sessionId !== inspection.rootId) return;
        const snapshot = inspection.snapshot as ReturnType<typeof actor.getSnapshot>;
        if (snapshot.status === 'stopped') return; // stopping is not an event of the session (nor logged by the registry)
        seq++;
        events++;
        for (const [i, store] of stores.entries()) store.append(ids[i]!, { type: inspection.event.type, payload: inspection.event, at });
        lastValue = snapshot;
        if (seq - lastSnapshotSeq >= SNAPSHOT_EVERY) {
          for (const [i, store] of stores.entries()) {
            store.saveSnapshot(ids[i]!, { seq, value: snapshot.value, context: snapshot.context, at });
          }
          lastSnapshotSeq = seq;
        }
      },
    });
    actor.start();
    const send = (event: SessionEvent | { type: string; [key: string]: unknown }) => {
      at += 1_000;
      actor.send(event as SessionEvent);
    };
    const answer = (id: string) =>
      send({
        type: 'xstate.done.actor.agent',
        output: { reply: `Observed ${id}: the login flow now refreshes tokens.`, replyTokens: 14, at },
      });
    send({ type: 'INIT', prompt: 'Fix the login bug. '.repeat(10), promptTokens: 48, promptNumber: 1, at });
    send({ type: 'SLOT_GRANTED', at });
    answer('prompt-1');
    const observations = 20 + (sessions % 25);
    for (let i = 0; i < observations; i++) {
      const id = `toolu_${sessions}_${i}`;
      send({
        type: 'WORK_QUEUED',
        item: { id, kind: 'observation', prompt: prompt.slice(0, 400), promptTokens: 100, toolUseId: id, queuedAt: at },
        at,
      });
      send({ type: 'SLOT_GRANTED', at });
      answer(id);
    }
    // A minute later it would go dormant, and the registry would snapshot it then.
    if (lastValue !== undefined && seq > lastSnapshotSeq) {
      for (const [i, store] of stores.entries())
        store.saveSnapshot(ids[i]!, { seq, value: lastValue.value, context: lastValue.context, at: at + 60_000 });
    }
    actor.stop();
    for (const store of stores) void store.flush();
  }
  return { sessions, events };
}

const logPath = join(dir, 'log.db');
const sqliteLog = openSqliteStore(logPath);
const memoryLog = createMemoryStore();
let started = performance.now();
const written = writeLog([sqliteLog, memoryLog]);
const writeSeconds = (performance.now() - started) / 1_000;
const fileBytes = sqliteLog.stats().fileBytes ?? 0;
sqliteLog.close();
log(`log: ${written.events} events in ${written.sessions} sessions (${mib(fileBytes)} MiB), written in ${round(writeSeconds, 1)} s`);

// ── recovery ───────────────────────────────────────────────────────────────────────────────────────
async function recoverFrom(store: EventStore) {
  const registry = createSessionRegistry({
    store,
    agent: { name: 'none', run: () => new Promise(() => {}) },
    maxActiveSessions: 10_000_000,
    memoryPressure: false,
  });
  const began = performance.now();
  const cpu = process.cpuUsage();
  const report = await registry.recover();
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - began) / 1_000;
  await registry.shutdown();
  // CPU time beside the wall clock: on a shared machine the wall clock also counts waiting for a core or the disk.
  return { seconds, cpuSeconds: (used.user + used.system) / 1_000_000, report };
}

const withoutSnapshotsPath = join(dir, 'log-without-snapshots.db');
copyFileSync(logPath, withoutSnapshotsPath);
const raw = new Database(withoutSnapshotsPath);
raw.exec('DELETE FROM snapshots');
raw.close();

started = performance.now();
const reopened = openSqliteStore(logPath);
const openSeconds = (performance.now() - started) / 1_000;
const sqliteWithSnapshots = await recoverFrom(reopened);
reopened.close();
const bare = openSqliteStore(withoutSnapshotsPath, { verify: false });
const sqliteWithoutSnapshots = await recoverFrom(bare);
bare.close();
const memoryWithSnapshots = await recoverFrom(memoryLog);
// The memory store's snapshots go the same way, through a store that hides them.
const memoryWithoutSnapshots = await recoverFrom({ ...memoryLog, latestSnapshot: () => undefined });

const perSecond = (seconds: number) => round(written.events / seconds);
log(
  `recover ${written.events} events: sqlite ${round(sqliteWithSnapshots.seconds, 2)} s with snapshots, ${round(sqliteWithoutSnapshots.seconds, 2)} s without; ` +
    `memory ${round(memoryWithSnapshots.seconds, 2)} s / ${round(memoryWithoutSnapshots.seconds, 2)} s; opening (quick_check) ${round(openSeconds, 2)} s`,
);
rmSync(dir, { recursive: true, force: true });

const section = writeSection('store', `npm run bench:store${args.quick ? ' -- --quick' : ''}`, {
  appendBytesPerEvent: JSON.stringify(appendPayload).length,
  append: {
    memoryPerSecond: round(memoryRate),
    sqliteBatchedPerSecond: round(batchedRate),
    sqliteUnbatchedPerSecond: round(unbatchedRate),
    sqliteUnbatchedFsyncPerSecond: round(fsyncUnbatchedRate),
    batchedVsMemory: ratio(batchedRate, memoryRate),
    unbatchedVsMemory: ratio(unbatchedRate, memoryRate),
    aimBatchedPerSecond: 50_000,
  },
  log: { events: written.events, sessions: written.sessions, fileMiB: mib(fileBytes), snapshotEvery: SNAPSHOT_EVERY },
  recovery: {
    openWithQuickCheckSeconds: round(openSeconds, 2),
    sqliteWithSnapshots: {
      seconds: round(sqliteWithSnapshots.seconds, 2),
      cpuSeconds: round(sqliteWithSnapshots.cpuSeconds, 2),
      eventsReplayed: sqliteWithSnapshots.report.eventsReplayed,
      logEventsPerSecond: perSecond(sqliteWithSnapshots.seconds),
    },
    sqliteWithoutSnapshots: {
      seconds: round(sqliteWithoutSnapshots.seconds, 2),
      cpuSeconds: round(sqliteWithoutSnapshots.cpuSeconds, 2),
      eventsReplayed: sqliteWithoutSnapshots.report.eventsReplayed,
      logEventsPerSecond: perSecond(sqliteWithoutSnapshots.seconds),
    },
    memoryWithSnapshots: {
      seconds: round(memoryWithSnapshots.seconds, 2),
      cpuSeconds: round(memoryWithSnapshots.cpuSeconds, 2),
      logEventsPerSecond: perSecond(memoryWithSnapshots.seconds),
    },
    memoryWithoutSnapshots: {
      seconds: round(memoryWithoutSnapshots.seconds, 2),
      cpuSeconds: round(memoryWithoutSnapshots.cpuSeconds, 2),
      logEventsPerSecond: perSecond(memoryWithoutSnapshots.seconds),
    },
    snapshotsSpeedup: ratio(sqliteWithoutSnapshots.seconds, sqliteWithSnapshots.seconds),
    sqliteVsMemoryWithSnapshots: ratio(memoryWithSnapshots.seconds, sqliteWithSnapshots.seconds),
    aimSeconds: 5,
  },
});
log(`written to bench/results.json (store section, ${section.ranAt})`);
