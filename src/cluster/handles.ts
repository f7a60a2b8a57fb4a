/**
 * Every Restate service of the session engine, by name, declared once: the services define themselves
 * with these names, and everything that calls one (the other services, the engine through the ingress)
 * uses these typed handles. The handles' types come from the services' definitions as type-only
 * imports, erased at run time: no file imports another service's code to call it.
 * May not: hold anything but names and handles.
 */
import type { AgentService } from './agent-service.js';
import type { SessionDirectory, SessionIds } from './directory.js';
import type { MemoryService } from './memory-service.js';
import type { SessionIndexObject } from './session-index.js';
import type { SessionObject } from './session-object.js';
import type { SlotPoolObject } from './slots.js';
import type { TimelineObject } from './timeline.js';

/** The services' names, as Restate knows them (its admin API, its UI, its CLI). */
export const SERVICE_NAMES = {
  session: 'session',
  agent: 'sessionAgent',
  slots: 'agentSlots',
  timeline: 'sessionTimeline',
  directory: 'sessionDirectory',
  ids: 'sessionIds',
  index: 'sessionIndex',
  memories: 'sessionMemories',
} as const;

export const sessionApi: SessionObject = { name: SERVICE_NAMES.session };
export const agentApi: AgentService = { name: SERVICE_NAMES.agent };
export const slotsApi: SlotPoolObject = { name: SERVICE_NAMES.slots };
export const timelineApi: TimelineObject = { name: SERVICE_NAMES.timeline };
export const directoryApi: SessionDirectory = { name: SERVICE_NAMES.directory };
export const idsApi: SessionIds = { name: SERVICE_NAMES.ids };
export const indexApi: SessionIndexObject = { name: SERVICE_NAMES.index };
export const memoriesApi: MemoryService = { name: SERVICE_NAMES.memories };

/** The one key of the slot pool: every service process of the cluster shares it. */
export const SLOT_POOL_KEY = 'agents';
/** The one key of the index: every live session of the cluster. */
export const INDEX_KEY = 'all';
/** The one key of the id counter. */
export const ID_KEY = 'ids';
