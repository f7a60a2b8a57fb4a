/**
 * The memory store's contract: what an agent's replies become (observations and summaries, claude-mem's
 * fields), and everything the worker asks of wherever they are kept (SQLite beside the event log;
 * PostgreSQL when the sessions run on Restate). One interface, one contract test suite
 * (test/memories/contract.ts) run against every implementation.
 * Types only.
 */

/** An observation's fields as a reply gives them. A raw note is an observation of type `note` with `text`. */
export interface ObservationFields {
  readonly type: string;
  readonly title: string | null;
  readonly subtitle: string | null;
  readonly facts: readonly string[];
  readonly narrative: string | null;
  readonly concepts: readonly string[];
  readonly filesRead: readonly string[];
  readonly filesModified: readonly string[];
  /** The raw text of a note (what could not be read as fields); null for a parsed observation. */
  readonly text: string | null;
}

export interface SummaryFields {
  readonly request: string | null;
  readonly investigated: string | null;
  readonly learned: string | null;
  readonly completed: string | null;
  readonly nextSteps: string | null;
  readonly notes: string | null;
}

/** What one reply says. */
export interface ParsedReply {
  readonly observations: readonly ObservationFields[];
  readonly summaries: readonly SummaryFields[];
  /** The reply held an acknowledgement (`<ack>`): an answer with nothing to remember, by design. */
  readonly acknowledged: boolean;
}

/** The reply a set of memories comes from: the agent's done event in a session's stream. */
export interface ReplySource {
  readonly sessionDbId: number;
  /** The seq of the reply's event in the session's stream: with sessionDbId, the key that makes storing idempotent. */
  readonly seq: number;
  readonly contentSessionId: string;
  readonly project: string;
  /** The user prompt the answered items belong to; null when the log does not say (older logs). */
  readonly promptNumber: number | null;
  /** Ids of the work items the reply answers (a batch), oldest first. */
  readonly items: readonly string[];
  /** When the reply arrived (the event's time). */
  readonly at: number;
}

/** Where a memory came from: a reply in this worker's log, or an import from claude-mem's database. */
export type MemoryOrigin = 'reply' | 'claude-mem';

interface MemoryCommon {
  readonly id: number;
  /** This worker's session; null for an imported memory. */
  readonly sessionDbId: number | null;
  /** Claude Code's session id (an import's claude-mem session id when it has no other). */
  readonly contentSessionId: string | null;
  readonly project: string;
  readonly promptNumber: number | null;
  /** The reply event's seq; null for an import. */
  readonly seq: number | null;
  readonly items: readonly string[];
  readonly createdAt: number;
  readonly origin: MemoryOrigin;
}

export interface Observation extends MemoryCommon, ObservationFields {
  readonly kind: 'observation';
}

export interface Summary extends MemoryCommon, SummaryFields {
  readonly kind: 'summary';
}

export type Memory = Observation | Summary;
export type MemoryKind = Memory['kind'];

/** A memory read from another store (claude-mem's database), keyed so that a second import adds nothing. */
export type ImportedMemory =
  | (ImportedCommon & { readonly kind: 'observation'; readonly fields: ObservationFields })
  | (ImportedCommon & { readonly kind: 'summary'; readonly fields: SummaryFields });

interface ImportedCommon {
  /** Unique per source row, e.g. `claude-mem:<memory session>:observation:<id>`. */
  readonly key: string;
  readonly origin: Exclude<MemoryOrigin, 'reply'>;
  readonly contentSessionId: string | null;
  readonly project: string;
  readonly promptNumber: number | null;
  readonly createdAt: number;
}

export interface RememberResult {
  /** False when this reply's memories were stored before (the same session and seq): nothing was added. */
  readonly stored: boolean;
  readonly observations: number;
  readonly summaries: number;
}

export interface ImportReport {
  readonly added: { readonly observations: number; readonly summaries: number };
  /** Already imported before (same key). */
  readonly skipped: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly hasMore: boolean;
  readonly offset: number;
  readonly limit: number;
}

export interface RecentQuery {
  readonly projects: readonly string[];
  /** Newest observations, at most. */
  readonly observations: number;
  /** The latest summary of each of the newest sessions, at most this many. */
  readonly sessions: number;
}

export interface ByFileQuery {
  /** Candidate forms of one file (absolute, project-relative); `\` is read as `/`. */
  readonly paths: readonly string[];
  readonly projects?: readonly string[];
  readonly limit: number;
}

export interface SearchQuery {
  /** Words to look for; none lists the newest. */
  readonly text?: string;
  /** `all`: every word must match (a search box); `any`: ranked by how well they match (a prompt). */
  readonly match?: 'all' | 'any';
  readonly project?: string;
  /** Which kinds to search; default both. */
  readonly kinds?: readonly MemoryKind[];
  /** Only observations of this type. */
  readonly observationType?: string;
  readonly sessionDbId?: number;
  readonly limit: number;
  readonly offset?: number;
}

export interface SearchResult {
  readonly observations: readonly Observation[];
  readonly summaries: readonly Summary[];
}

export interface ListQuery {
  readonly project?: string;
  readonly sessionDbId?: number;
  readonly offset: number;
  readonly limit: number;
}

export interface MemoryCounts {
  readonly observations: number;
  readonly summaries: number;
}

export interface MemoryStats extends MemoryCounts {
  /** Replies whose memories are stored (the exactly-once ledger). */
  readonly replies: number;
  readonly projects: number;
}

export interface MemoryStoreDescription {
  readonly kind: 'sqlite' | 'postgres';
  /** The file, or the database, for messages. */
  readonly location: string;
  /** How `search` ranks: bm25 over SQLite FTS5, or PostgreSQL's ts_rank. Lexical, not semantic. */
  readonly ranking: string;
}

/**
 * Where memories are kept. Every method is safe to call again with the same input (storing a reply's
 * memories a second time, importing the same rows, deleting what is gone): the exactly-once guarantees
 * of the worker rest on that. Reads see every write that resolved before them.
 */
export interface MemoryStore {
  readonly description: MemoryStoreDescription;
  /** Stores a reply's memories once: a second call for the same (sessionDbId, seq) stores nothing. */
  remember(source: ReplySource, parsed: ParsedReply): Promise<RememberResult>;
  /** Whether a reply's memories are stored (even if the user deleted them since). */
  remembered(sessionDbId: number, seq: number): Promise<boolean>;
  /** Stores imported memories; those whose key was imported before are skipped. */
  import(memories: readonly ImportedMemory[]): Promise<ImportReport>;

  /** For the next session's context: the newest observations and the latest summary of the newest sessions. */
  recent(query: RecentQuery): Promise<SearchResult>;
  /** Observations that read or modified the file, newest first. */
  byFile(query: ByFileQuery): Promise<Observation[]>;
  /** Full-text search, best match first (newest first without words). */
  search(query: SearchQuery): Promise<SearchResult>;
  observations(query: ListQuery): Promise<Page<Observation>>;
  summaries(query: ListQuery): Promise<Page<Summary>>;
  get(kind: MemoryKind, id: number): Promise<Memory | undefined>;

  /** Deletes one memory; false if there was none. A reply is never stored again after its memories are deleted. */
  delete(kind: MemoryKind, id: number): Promise<boolean>;
  /** Deletes every memory of a project. */
  deleteProject(project: string): Promise<MemoryCounts>;
  /** Retention: deletes the memories created before `at`. */
  forgetBefore(at: number): Promise<MemoryCounts>;

  stats(): Promise<MemoryStats>;
  close(): Promise<void>;
}
