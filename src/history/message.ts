/** One turn of a session's conversation with its agent. */
export interface ConversationMessage {
  readonly role: 'user' | 'assistant';
  readonly content: string;
  /** Estimated tokens of `content`, computed once when the message is created. */
  readonly tokens: number;
  /** The session's first message (its init prompt): kept by every trim while it fits the token bound. */
  readonly pinned?: true;
}

/**
 * Bounds of a session's stored history. `maxMessages` and `maxTokens` are high-water marks: they hold
 * after every append. `lowWater` says how far a trim cuts once an append has gone over either of them.
 */
export interface HistoryLimits {
  /** Required. DEFAULT_HISTORY_LIMITS holds 50, claude-mem's own bound (a session takes `maxHistoryMessages`). */
  readonly maxMessages: number;
  /** Required. DEFAULT_HISTORY_LIMITS holds 100,000: half of a 200k-token context (a session takes `maxHistoryTokens`). */
  readonly maxTokens: number;
  /**
   * Where a trim cuts down to, as a fraction of both bounds (above 0, at most 1). When an append takes
   * the history over either bound, the oldest messages go until it fits `lowWater × maxMessages`
   * messages and `lowWater × maxTokens` tokens; until it goes over again, appends only add to its end,
   * so each agent call repeats the previous call's messages as its prefix, which every provider's prompt
   * cache (Anthropic's breakpoints, OpenAI's and Gemini's automatic prefix caching) bills at about a
   * tenth. Absent: 1, a cut only to the bound, so a full window slides by one message per append and
   * no prefix repeats (how histories were bounded before this option; older logs replay that way).
   */
  readonly lowWater?: number;
}

/**
 * A quarter of each bound, chosen with the long-session cost benchmark (docs/benchmarks.md, "What a long
 * session costs"; docs/architecture.md, "History bound"): a lower mark bills less, and a quarter still
 * leaves the agent its last dozen messages after a cut, a prefix above Haiku 4.5's 4,096-token cache minimum.
 */
export const DEFAULT_HISTORY_LOW_WATER = 0.25;

export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxMessages: 50, maxTokens: 100_000, lowWater: DEFAULT_HISTORY_LOW_WATER };
