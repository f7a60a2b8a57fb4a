/**
 * What opening an engine from the worker's configuration means: each engine's folder has its own
 * composition root (`openEmbeddedEngine` in src/registry, `openRestateEngine` in src/cluster) with this
 * shape, and the worker picks one by CLAUDE_MEM_ENGINE without knowing more of it.
 */
import type { Logger } from 'pino';
import type { Agent } from '../agents/index.js';
import type { WorkerConfig } from '../config/index.js';
import type { SessionEngine } from './types.js';

export interface EngineOpenOptions {
  /** Required: the provider chain the configuration names (or a test's agent). */
  readonly agent: Agent;
  /** Required: where the engine says what it does (the worker's pino logger). */
  readonly logger: Logger;
  /** Required: what the worker reports as its version (written beside a log the engine owns). */
  readonly version: string;
  /**
   * Starts timing one durable commit of the engine's own log; the function it returns ends it (the
   * worker's `log_append_seconds`). An engine without a log of its own ignores it. Default none: nothing is timed.
   */
  readonly timeCommit?: () => () => void;
}

/** An engine opened for the worker, with what the worker tells it and how it stops. */
export interface OpenedEngine {
  readonly engine: SessionEngine;
  /** The worker listens on `port` (known only now for port 0): an engine that records its owner's port updates it. */
  listening(port: number): void;
  /** Stops the engine and whatever its opening started (its log, its services); in-flight agent calls get `drainMs`. */
  stop(drainMs: number): Promise<void>;
}

export type EngineOpener = (config: WorkerConfig, options: EngineOpenOptions) => Promise<OpenedEngine>;
