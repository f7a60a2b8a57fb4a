/** One turn of a session's conversation with its agent. */
export interface ConversationMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
  /** Estimated tokens of `content`, computed once when the message is created. */
  readonly tokens: number;
  /** The session's first message (its init prompt): kept by every trim while it fits the token bound. */
  readonly pinned?: true;
}

/** Bounds of a session's stored history. */
export interface HistoryLimits {
  readonly maxMessages: number;
  readonly maxTokens: number;
}

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxMessages: 50, maxTokens: 100_000 };
