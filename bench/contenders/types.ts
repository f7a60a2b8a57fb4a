import type { Clock } from '../../src/clock/index.js';

/** One message of a baseline's conversation history. */
export interface HistoryMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
}

/**
 * The agent every contender calls: the same replies, at the same cost, for all. It is given the
 * session's history (the prompt is its last message), which is what a real model is sent.
 */
export type ReplyFn = (prompt: string, history: readonly HistoryMessage[]) => Promise<string>;

export interface ContenderOptions {
  readonly clock: Clock;
  readonly reply: ReplyFn;
  readonly idleTtlMs: number;
}

/** What the soak and the cost benchmarks drive: the hook events of claude-mem, as function calls. */
export interface Contender {
  readonly name: string;
  /** A user prompt: starts the session, or continues it. */
  init(contentSessionId: string, project: string, prompt: string): Promise<void>;
  observe(contentSessionId: string, observation: string): Promise<void>;
  summarize(contentSessionId: string, lastAssistantMessage: string): Promise<void>;
  /** Sessions held in memory. */
  liveSessions(): number;
  /** Resolves when every queued item has been answered. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
