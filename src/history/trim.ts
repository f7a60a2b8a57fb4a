import type { ConversationMessage, HistoryLimits } from './message.js';

export interface TrimResult {
  readonly history: readonly ConversationMessage[];
  readonly trimmedMessages: number;
  readonly trimmedTokens: number;
}

export interface TrimOptions {
  /**
   * The history was trimmed before, so what follows the pinned message no longer continues from it,
   * even when only the pinned message was left. Trimming after every append needs this to agree with
   * trimming the whole sequence at once.
   */
  readonly trimmedBefore?: boolean;
}

/**
 * Bounds a history to `limits`, dropping whole messages, oldest first, in steps.
 *
 * Nothing goes while the history is within both bounds (the high-water marks). Once it is over either,
 * the oldest messages go until it fits the low-water marks (`limits.lowWater` of each bound), so that
 * the appends that follow leave the front of the history, and with it the prefix of the agent's next
 * calls, untouched until the next cut.
 *
 * The pinned first message (the init prompt) is kept as long as it fits the token bound on its own.
 * What follows it is the longest run of newest messages that fits what remains of both marks; when that
 * run does not start right after the pinned message (something was cut, or the pinned message itself
 * is gone), it is advanced to a `user` message so that a provider never sees a reply without the
 * prompt it answers.
 *
 * Returns the same array when nothing has to go, so callers can trim after every append for free.
 */
export function trimHistory(history: readonly ConversationMessage[], limits: HistoryLimits, options: TrimOptions = {}): TrimResult {
  if (history.length === 0) return { history, trimmedMessages: 0, trimmedTokens: 0 };

  const first = history[0]!;
  const windowFrom = first.pinned === true ? 1 : 0;
  const total = historyTokens(history);
  const overBound = history.length > limits.maxMessages || total > limits.maxTokens;
  // After an earlier cut the window must open on a user message, even within the bounds.
  const opensOnReply = options.trimmedBefore === true && history.length > windowFrom && history[windowFrom]!.role !== 'user';
  if (!overBound && !opensOnReply) return { history, trimmedMessages: 0, trimmedTokens: 0 };

  const keepPinned = first.pinned === true && limits.maxMessages >= 1 && first.tokens <= limits.maxTokens;
  // Over a bound: cut to the low-water marks. Only opening on a reply: cut just that.
  const fraction = overBound ? Math.min(1, limits.lowWater ?? 1) : 1;
  const messageBudget = Math.max(keepPinned ? 1 : 0, Math.floor(limits.maxMessages * fraction)) - (keepPinned ? 1 : 0);
  const tokenBudget = Math.floor(limits.maxTokens * fraction) - (keepPinned ? first.tokens : 0);

  let start = history.length;
  let windowTokens = 0;
  for (let i = history.length - 1; i >= windowFrom; i--) {
    const tokens = history[i]!.tokens;
    if (history.length - i > messageBudget || windowTokens + tokens > tokenBudget) break;
    windowTokens += tokens;
    start = i;
  }
  while (start < history.length && history[start]!.role !== 'user') start++;

  const kept = keepPinned ? [first, ...history.slice(start)] : history.slice(start);
  return { history: kept, trimmedMessages: history.length - kept.length, trimmedTokens: total - historyTokens(kept) };
}

/** Total estimated tokens of a history. */
export function historyTokens(history: readonly ConversationMessage[]): number {
  let total = 0;
  for (const message of history) total += message.tokens;
  return total;
}
