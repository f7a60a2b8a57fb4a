import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { useRegistry } from '../support/registry.js';
import { useTempDir } from '../support/tmp.js';

const SESSIONS = 10_000;
const ROUNDS = 10;
const MB = 1024 * 1024;
/** Stated bound for the file once every stream is compacted: a summary row is about 300 bytes. */
const COMPACTED_BOUND = 4 * MB;

const tempDir = useTempDir();
const harness = useRegistry({}, 1_700_000_000_000);

const sizeOf = (path: string) => {
  let total = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {
      /* no WAL */
    }
  }
  return total;
};

describe('churn', () => {
  it(`${SESSIONS.toLocaleString('en')} sessions through their whole lifecycle leave one summary row each, in a bounded file`, async () => {
    const path = join(tempDir(), 'session-events.db');
    const store = harness.sqlite(path);
    const registry = harness.start({
      store,
      agent: { name: 'instant', run: async (request) => ({ text: `summary of ${request.item.id} `.padEnd(300, '.') }) },
      idleTtlMs: 1_000,
      graceMs: 100,
      retentionMs: 1_000,
      compactionIntervalMs: 2_000_000_000,
      snapshotEvery: 5,
      maxActiveSessions: 250,
      maxConcurrentAgents: 8,
    });
    let disposed = 0;
    registry.on('disposed', () => disposed++);

    const peaks: number[] = [];
    const afterCompaction: number[] = [];
    const perRound = SESSIONS / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      for (let batch = 0; batch < perRound; batch += 250) {
        for (let n = 0; n < 250; n++) {
          const target = { contentSessionId: `churn-${round}-${batch + n}`, project: 'churn' };
          await registry.init(target, { prompt: 'init '.padEnd(1_000, '.') });
          for (let i = 0; i < 3; i++) await registry.enqueue(target, { kind: 'observation', prompt: `tool use ${i} `.padEnd(2_000, '.') });
        }
        await vi.advanceTimersByTimeAsync(10);
        await vi.advanceTimersByTimeAsync(1_200); // idle → expiring → disposed
      }
      peaks.push(sizeOf(path));
      await vi.advanceTimersByTimeAsync(1_000); // past the retention period
      expect(registry.compact().compacted).toBe(perRound);
      afterCompaction.push(sizeOf(path));
    }

    expect(disposed).toBe(SESSIONS);
    expect(store.stats()).toMatchObject({ sessions: SESSIONS, liveStreams: 0, events: 0, snapshots: 0 });
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM sessions WHERE status = 'compacted' AND summary IS NOT NULL").pluck().get()).toBe(SESSIONS);
    raw.close();

    const final = afterCompaction.at(-1)!;
    console.log(
      `churn: ${SESSIONS} sessions, file before each compaction ${peaks.map((b) => (b / MB).toFixed(1)).join(', ')} MB; ` +
        `after ${afterCompaction.map((b) => (b / MB).toFixed(2)).join(', ')} MB (bound ${COMPACTED_BOUND / MB} MB)`,
    );
    expect(final).toBeLessThan(COMPACTED_BOUND);
    // The freed pages are reused or given back: later rounds do not pile up on earlier ones.
    expect(Math.max(...peaks.slice(1))).toBeLessThan(peaks[0]! * 1.5 + final);
  }, 300_000);
});
