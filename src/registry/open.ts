/**
 * The embedded engine's composition root: from the worker's configuration, this process's SQLite log
 * (an owner lock on the file), its memories in the same file, the registry over them, the inspector
 * relay when asked for, and the embedded engine over it all; and how they stop.
 * May not: answer requests (the worker's routes do, through the engine).
 */
import { eventLogPath } from '../config/index.js';
import { type EngineOpener, sessionOptionsFromConfig, WorkerStartError } from '../engine/index.js';
import { connectInspector } from '../inspector/index.js';
import { openSqliteMemories } from '../memories/index.js';
import { type EventStore, openSqliteStore } from '../store/index.js';
import { createEmbeddedEngine } from './engine.js';
import { createSessionRegistry } from './registry.js';

/** The store with each durable commit timed by `timeCommit` (the worker's `log_append_seconds`). */
function timedCommits(store: EventStore, timeCommit: (() => () => void) | undefined): EventStore {
  if (timeCommit === undefined) return store;
  return {
    ...store,
    async flush() {
      const stop = timeCommit();
      try {
        await store.flush();
      } finally {
        stop();
      }
    },
  };
}

export const openEmbeddedEngine: EngineOpener = async (config, options) => {
  const { logger } = options;
  if (config.postgresUrl !== undefined) {
    logger.warn('CLAUDE_MEM_POSTGRES_URL has no effect with the embedded engine: its memories live in its SQLite log');
  }
  // First of all: the engine owns its log (a second worker on this data directory stops here).
  const store = openSqliteStore(eventLogPath(config.dataDir), {
    owner: { port: config.port, host: config.host, version: options.version },
  });
  const stale = store.ownership?.staleRecord;
  if (stale) {
    logger.warn(
      { previousOwner: stale },
      'the previous worker on this log did not stop cleanly (killed, or the machine went down); its sessions are recovered from the log',
    );
  }
  // The memories live in the log's file, written by its commits: opened (and caught up) before any session is recovered.
  let memories: ReturnType<typeof openSqliteMemories>;
  try {
    memories = openSqliteMemories(store);
  } catch (error) {
    store.close();
    throw new WorkerStartError(`cannot open the memories in ${store.location}: ${(error as Error).message}`);
  }
  if (memories.caughtUp > 0) logger.info({ replies: memories.caughtUp }, 'memories caught up from the event log');
  const inspector = config.inspectUrl === undefined ? undefined : connectInspector(config.inspectUrl);
  const registry = createSessionRegistry({
    agent: options.agent,
    store: timedCommits(store, options.timeCommit),
    ...sessionOptionsFromConfig(config),
    maxActiveSessions: config.maxActiveSessions,
    memoryPressure: { limitPercent: config.memoryLimitPercent, targetPercent: config.memoryTargetPercent },
    snapshotEvery: config.snapshotEvery,
    logger: logger.child({ component: 'registry' }),
    ...(inspector === undefined ? {} : { inspect: inspector.inspect }),
  });
  const engine = createEmbeddedEngine({ registry, store, memories, location: store.location });
  return {
    engine,
    listening(port) {
      if (port !== config.port) store.ownership?.update({ port });
    },
    async stop(drainMs) {
      await engine.close({ drainMs });
      inspector?.stop();
    },
  };
};
