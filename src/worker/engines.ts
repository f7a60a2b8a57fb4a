/**
 * Which engine CLAUDE_MEM_ENGINE names, and how it is opened: each engine's composition root lives in
 * its own folder (src/registry/open.ts, src/cluster/open.ts); this table is the only place the worker
 * knows there are several. A third engine is one more row (docs/architecture.md, "Adding an engine").
 * May not: open anything itself, or ask an opened engine which one it is.
 */
import { openRestateEngine, RESTATE_CAPABILITIES } from '../cluster/index.js';
import type { EngineName } from '../config/index.js';
import type { EngineCapabilities, EngineOpener } from '../engine/index.js';
import { EMBEDDED_CAPABILITIES, openEmbeddedEngine } from '../registry/index.js';

export interface EngineEntry {
  /** The engine as messages name it. */
  readonly title: string;
  readonly open: EngineOpener;
  /** What the engine can do, known before it is opened (`replay` asks whether it keeps a local log). */
  readonly capabilities: EngineCapabilities;
}

export const ENGINES: Readonly<Record<EngineName, EngineEntry>> = {
  embedded: { title: 'this process (its SQLite log)', open: openEmbeddedEngine, capabilities: EMBEDDED_CAPABILITIES },
  restate: { title: 'Restate', open: openRestateEngine, capabilities: RESTATE_CAPABILITIES },
};
