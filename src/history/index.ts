/** Bounding a session's conversation history: the stored array itself, after every append, in steps that keep its prefix. */
export type { ConversationMessage, HistoryLimits } from './message.js';
export { DEFAULT_HISTORY_LIMITS, DEFAULT_HISTORY_LOW_WATER } from './message.js';
export type { TokenEstimator } from './tokens.js';
export { estimateTokens } from './tokens.js';
export type { TrimOptions, TrimResult } from './trim.js';
export { historyTokens, trimHistory } from './trim.js';
