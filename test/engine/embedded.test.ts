/**
 * The engine contract's suite (conformance.ts) on the embedded engine: this process's registry over a
 * real SQLite log in a temporary directory, in real time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedEngine, createSessionRegistry, openSqliteStore } from '../../src/index.js';
import { describeEngineContract } from './conformance.js';

describeEngineContract('embedded', async (options) => {
  const dir = mkdtempSync(join(tmpdir(), 'session-lifecycle-conformance-'));
  const store = openSqliteStore(join(dir, 'session-events.db'));
  const registry = createSessionRegistry({ ...options, store, memoryPressure: false });
  const engine = createEmbeddedEngine({ registry, store, location: store.location });
  await engine.start();
  return {
    engine,
    async close() {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
