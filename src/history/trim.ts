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
 * Bounds a history to `limits`, dropping whole messages, oldest first.
 *
 * The pinned first message (the init prompt) is kept as long as it fits the token bound on its own.
 * What follows it is the longest run of newest messages that fits what remains of both bounds; when that
 * run does not start right after the pinned message (something was cut, or the pinned message itself
 * is gone), it is advanced to a `user` message so that a provider never sees a reply without the
 * prompt it answers.
 *
 * Returns the same array when nothing has to go, so callers can trim after every append for free.
 */
export function trimHistory(history: readonly ConversationMessage[], limits: HistoryLimits, options: TrimOptions = {}): TrimResult {
  if (history.length === 0) return { history, trimmedMessages: 0, trimmedTokens: 0 };

  const first = history[0]!;
  const keepPinned = first.pinned === true && limits.maxMessages >= 1 && first.tokens <= limits.maxTokens;
  const windowFrom = first.pinned === true ? 1 : 0;
  const messageBudget = limits.maxMessages - (keepPinned ? 1 : 0);
  const tokenBudget = limits.maxTokens - (keepPinned ? first.tokens : 0);

  let start = history.length;
  let windowTokens = 0;
  for (let i = history.length - 1; i >= windowFrom; i--) {
    const tokens = history[i]!.tokens;
    if (history.length - i > messageBudget || windowTokens + tokens > tokenBudget) break;
    windowTokens += tokens;
    start = i;
  }
  // Without its pinned first message the window has been cut before (or is being cut now).
  const cut = options.trimmedBefore === true || start > windowFrom || !keepPinned;
  if (cut) while (start < history.length && history[start]!.role !== 'user') start++;
  if (start === windowFrom && (keepPinned || first.pinned !== true)) {
    return { history, trimmedMessages: 0, trimmedTokens: 0 };
  }

  const kept = keepPinned ? [first, ...history.slice(start)] : history.slice(start);
  let trimmedTokens = 0;
  for (const message of history) trimmedTokens += message.tokens;
  for (const message of kept) trimmedTokens -= message.tokens;
  return { history: kept, trimmedMessages: history.length - kept.length, trimmedTokens };
}

/** Total estimated tokens of a history. */
export function historyTokens(history: readonly ConversationMessage[]): number {
  let total = 0;
  for (const message of history) total += message.tokens;
  return total;
}
