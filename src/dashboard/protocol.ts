/**
 * What the dashboard's routes and its event stream send, shared with the page (web/): plain types
 * with no import, so that the browser build can read them too.
 */

export type DisposalReasonName = 'ttl' | 'completed' | 'deleted' | 'capacity' | 'memory-pressure';
export const DISPOSAL_REASONS: readonly DisposalReasonName[] = ['ttl', 'completed', 'deleted', 'capacity', 'memory-pressure'];

/** The next thing that happens to a session on its own, if nothing else does. */
export interface NextDeadline {
  /** `expiring`: idle until then, then expiring; `disposed`: expiring until then; `retry`: backoff or pause ends. */
  readonly kind: 'expiring' | 'disposed' | 'retry';
  readonly at: number;
}

/** One live session as the table shows it. */
export interface SessionRow {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly lifecycle: 'active' | 'idle' | 'expiring';
  /** Full state name, e.g. `active.processing`, to show. */
  readonly state: string;
  /** What an active session waits for when no deadline is set: its agent's answer, a slot, or the rest of its batch (absent otherwise). */
  readonly waitsFor?: 'agent' | 'slot' | 'batch';
  readonly queueLength: number;
  readonly historyLength: number;
  readonly historyTokens: number;
  readonly createdAt: number;
  readonly lastActivityAt: number;
  readonly next: NextDeadline | null;
}

/** What one provider cost: batches it answered and the tokens it reported. */
export interface ProviderCost {
  readonly batches: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
}

export interface StatsSummary {
  readonly live: number;
  /** Null where the engine has no dormancy (Restate keeps every session on disk). */
  readonly dormant: number | null;
  readonly byLifecycle: { readonly active: number; readonly idle: number; readonly expiring: number };
  readonly byState: Readonly<Record<string, number>>;
  readonly slots: { readonly capacity: number; readonly inUse: number; readonly waiting: number };
  /** Since the worker started (embedded), or since the Restate cluster began. */
  readonly disposals: Readonly<Record<DisposalReasonName, number>>;
  /** By provider, over every session (same scope as `disposals`). */
  readonly costByProvider: Readonly<Record<string, ProviderCost>>;
}

/** Heap and RSS at one moment, from the worker's ring buffer. */
export interface MemorySample {
  readonly at: number;
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
}

/** Disposals that happened in [start, start + bucketMs), by reason. */
export interface DisposalBucket {
  readonly start: number;
  readonly counts: Readonly<Record<DisposalReasonName, number>>;
}

export interface DisposalRecord {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  readonly reason: DisposalReasonName;
  readonly at: number;
  readonly processed: number;
  readonly droppedItems: number;
}

/** The worker's settings the page needs to draw its charts. */
export interface WorkerFacts {
  /** What runs the sessions, and how the page hears of changes: `live` per event, or `polled` every `pollMs`. */
  readonly engine: {
    readonly kind: 'embedded' | 'restate';
    readonly location: string;
    /** `exclusive`: the sessions run in this process; `shared`: elsewhere (a cluster), this worker only fronts them. */
    readonly ownership: 'exclusive' | 'shared';
    /** Whether `maxActiveSessions` bounds the live sessions (an engine that holds them in memory). */
    readonly capacity: boolean;
    readonly updates: 'live' | 'polled';
    readonly pollMs: number | null;
  };
  readonly version: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly idleTtlMs: number;
  readonly graceMs: number;
  readonly maxActiveSessions: number;
  readonly maxConcurrentAgents: number;
  /** Used heap above which idle sessions are shed (CLAUDE_MEM_MEMORY_LIMIT_PERCENT of the heap limit); null where nothing is shed (Restate). */
  readonly memoryLimitBytes: number | null;
  readonly heapLimitBytes: number;
  readonly memorySampleMs: number;
  readonly disposalBucketMs: number;
  /** How far back the charts reach (the ring buffers' span). */
  readonly windowMs: number;
}

/** The first message on a stream, and the one after a stream fell behind: everything. */
export interface SnapshotMessage {
  readonly type: 'snapshot';
  readonly now: number;
  readonly worker: WorkerFacts;
  readonly sessions: readonly SessionRow[];
  readonly stats: StatsSummary;
  readonly memory: readonly MemorySample[];
  readonly disposals: readonly DisposalBucket[];
  readonly recentDisposals: readonly DisposalRecord[];
}

/** What changed since the previous message, coalesced over a short window. */
export interface UpdateMessage {
  readonly type: 'update';
  readonly now: number;
  readonly upserts: readonly SessionRow[];
  /** Sessions that are no longer live. */
  readonly removed: readonly number[];
  readonly stats: StatsSummary;
  readonly memory: readonly MemorySample[];
  /** Buckets whose counts changed (the page replaces them by `start`). */
  readonly disposals: readonly DisposalBucket[];
  readonly recentDisposals: readonly DisposalRecord[];
}

export type StreamMessage = SnapshotMessage | UpdateMessage;

/** One message of a session's conversation history, as the session page shows it. */
export interface HistoryMessage {
  readonly role: 'user' | 'assistant';
  readonly tokens: number;
  readonly pinned: boolean;
  readonly content: string;
  /** True when `content` was cut for the page (the full text is in the log). */
  readonly clipped: boolean;
}

export interface TimelineRow {
  readonly seq: number;
  readonly at: number;
  /** As people read it: `after idleDeadline`, `agent done`. */
  readonly event: string;
  readonly state: string;
  readonly queueLength: number;
  readonly historyLength: number;
  readonly historyTokens: number;
  readonly detail: string;
}

/** GET /dashboard/api/sessions/:sessionDbId: what the session page shows. */
export interface SessionDetail {
  readonly now: number;
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  /** `disposed` also for a session whose stream was compacted. */
  readonly lifecycle: 'active' | 'idle' | 'expiring' | 'disposed';
  readonly state: string;
  readonly stream: { readonly status: 'live' | 'disposed' | 'compacted'; readonly lastSeq: number };
  readonly live: {
    readonly queueLength: number;
    readonly promptNumber: number;
    readonly createdAt: number;
    readonly lastActivityAt: number;
    readonly idleDeadline: number | null;
    readonly graceDeadline: number | null;
    readonly retryAt: number | null;
    readonly attempt: number;
    readonly completing: boolean;
    readonly lastFailure: { readonly kind: string; readonly message: string; readonly at: number } | null;
    readonly next: NextDeadline | null;
    readonly counters: Readonly<Record<string, number>>;
    /** What each provider that answered this session cost (with fallbacks, several). */
    readonly costByProvider: Readonly<Record<string, ProviderCost>>;
  } | null;
  readonly disposal: { readonly reason: DisposalReasonName; readonly at: number; readonly droppedItems: number } | null;
  readonly summary: { readonly events: number; readonly processed: number; readonly failed: number; readonly compactedAt: number } | null;
  readonly history: {
    readonly messages: readonly HistoryMessage[];
    readonly tokens: number;
    readonly maxMessages: number;
    readonly maxTokens: number;
  };
  readonly timeline: {
    readonly total: number;
    readonly entries: readonly TimelineRow[];
    readonly skipped: number;
    /** Where it comes from: this worker's event log (`npm run replay` prints it), or the engine's own bounded timeline (named by its kind). */
    readonly source: 'log' | WorkerFacts['engine']['kind'];
  };
}

/** GET /dashboard/api/status: the dashboard's own streams, for operators and tests. */
export interface StreamStatus {
  readonly streams: number;
  readonly maxStreams: number;
  readonly maxBufferedBytes: number;
  /** Bytes written to each open stream that its client has not taken yet. */
  readonly bufferedBytes: readonly number[];
  /** Streams closed because their client stopped reading. */
  readonly closedSlow: number;
  /** Messages not sent to a client that was behind (it got a fresh snapshot once it caught up). */
  readonly coalesced: number;
  readonly refused: number;
  /** Time spent building and writing messages since the worker started (synchronous work: CPU time). */
  readonly workMs: number;
}

/** One memory (an observation or a summary) as the dashboard shows it. */
export interface MemoryEntry {
  readonly kind: 'observation' | 'summary';
  readonly id: number;
  /** The session that produced it; null for one imported from claude-mem. */
  readonly sessionDbId: number | null;
  readonly project: string;
  readonly promptNumber: number | null;
  readonly createdAt: number;
  /** `reply` (this worker's agent), or where it was imported from. */
  readonly origin: string;
  /** An observation's type (`note`: a reply the parser kept raw); `summary` for a summary. */
  readonly type: string;
  readonly title: string;
  /** Everything else it holds, as labelled lines. */
  readonly lines: readonly { readonly label: string; readonly text: string }[];
}

/** A session's memories, or a search's results. */
export interface MemoriesAnswer {
  /** False when the engine keeps no memories (Restate without CLAUDE_MEM_POSTGRES_URL): `entries` is then empty. */
  readonly available: boolean;
  /** How a search ranks, when words were given (lexical: bm25 over FTS5). */
  readonly ranking: string | null;
  readonly entries: readonly MemoryEntry[];
  /** More results past these (ask again with a larger offset). */
  readonly hasMore: boolean;
}
