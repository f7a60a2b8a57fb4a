/**
 * The registry test harness, one for every registry test: fake time from a given moment, registries
 * started with the file's defaults (shut down after each test, the stores they log to closed after
 * them), every disposal recorded, and a restart over the same log as a restarted worker does it.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import {
  createSessionRegistry,
  type EventStore,
  openSqliteStore,
  type RecoveryReport,
  type SessionDisposed,
  type SessionRegistry,
  type SessionRegistryOptions,
  type SqliteEventStore,
  type SqliteStoreOptions,
} from '../../src/index.js';

type Defaults = Partial<SessionRegistryOptions>;

export interface RegistryHarness {
  /** The registry started last (what most tests use). */
  readonly registry: SessionRegistry;
  /** Every disposal any registry of the test announced, in order. */
  readonly disposals: SessionDisposed[];
  /** Starts a registry with the file's defaults and `options` over them. */
  start(options?: Defaults): SessionRegistry;
  /** The store the last registry logs to (undefined: none given, nothing is logged). */
  readonly store: EventStore | undefined;
  /** A real SQLite log at `path`, closed after the test. */
  sqlite(path: string, options?: SqliteStoreOptions): SqliteEventStore;
  /**
   * What a process restart does: the last registry stops, its SQLite log is closed and opened again (any
   * other store is kept), and a new registry (the file's defaults, then `options`) recovers its sessions.
   */
  restart(options?: Defaults): Promise<{ registry: SessionRegistry; store: EventStore | undefined; report: RecoveryReport }>;
}

/**
 * Installs the harness in the calling test file: `defaults` (an object, or a function read at each
 * start, for an agent made per test) apply to every registry; time is faked from `now` (default 1,000,000).
 */
export function useRegistry(defaults: Defaults | (() => Defaults) = {}, now = 1_000_000): RegistryHarness {
  let registries: SessionRegistry[] = [];
  let stores: EventStore[] = [];
  let options: Defaults[] = [];
  const paths = new Map<EventStore, readonly [string, SqliteStoreOptions | undefined]>();
  const disposals: SessionDisposed[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ now });
    disposals.length = 0;
  });
  afterEach(async () => {
    for (const registry of registries) await registry.shutdown();
    for (const store of stores) store.close();
    registries = [];
    stores = [];
    options = [];
    paths.clear();
    vi.useRealTimers();
  });
  const harness: RegistryHarness = {
    get registry() {
      const last = registries.at(-1);
      if (last === undefined) throw new Error('no registry started in this test');
      return last;
    },
    disposals,
    get store() {
      return options.at(-1)?.store;
    },
    start(overrides = {}) {
      const merged = { memoryPressure: false as const, ...(typeof defaults === 'function' ? defaults() : defaults), ...overrides };
      const registry = createSessionRegistry(merged as SessionRegistryOptions);
      registry.on('disposed', (disposal) => disposals.push(disposal));
      registries.push(registry);
      options.push(merged);
      return registry;
    },
    sqlite(path, storeOptions) {
      const store = openSqliteStore(path, storeOptions);
      stores.push(store);
      paths.set(store, [path, storeOptions]);
      return store;
    },
    async restart(overrides = {}) {
      const last = registries.at(-1);
      if (last === undefined) throw new Error('no registry to restart');
      await last.shutdown();
      registries = registries.filter((registry) => registry !== last);
      let store = options.at(-1)?.store;
      const file = store === undefined ? undefined : paths.get(store);
      if (store !== undefined && file !== undefined) {
        store.close();
        stores = stores.filter((open) => open !== store);
        store = harness.sqlite(...file);
      }
      const registry = harness.start({ ...(store === undefined ? {} : { store }), ...overrides });
      const report = await registry.recover();
      return { registry, store, report };
    },
  };
  return harness;
}
