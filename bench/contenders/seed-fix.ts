/**
 * `seed-fix`: the same session manager with the straightforward fix the analysis proposes: one
 * setTimeout per session that deletes it after the TTL (cleared and set again after every item), and the
 * history spliced to its newest 50 messages after every append. Replies are appended once.
 */
import { type ActiveSession, SessionManager } from './session-manager.js';
import type { Contender, ContenderOptions } from './types.js';

const MAX_CONVERSATION_HISTORY_LENGTH = 50;

export function createSeedFix(options: ContenderOptions): Contender {
  const cleanupTimers = new Map<number, unknown>();
  const manager: SessionManager = new SessionManager(options, {
    replyAppends: 1,
    afterAppend: (session: ActiveSession) => {
      const history = session.conversationHistory;
      if (history.length > MAX_CONVERSATION_HISTORY_LENGTH) history.splice(0, history.length - MAX_CONVERSATION_HISTORY_LENGTH);
    },
    afterItem: ({ sessionDbId }: ActiveSession) => {
      const existing = cleanupTimers.get(sessionDbId);
      if (existing !== undefined) options.clock.clearTimeout(existing);
      cleanupTimers.set(
        sessionDbId,
        options.clock.setTimeout(() => {
          manager.deleteSession(sessionDbId);
          cleanupTimers.delete(sessionDbId);
        }, options.idleTtlMs),
      );
    },
    onClose: () => {
      for (const timer of cleanupTimers.values()) options.clock.clearTimeout(timer);
      cleanupTimers.clear();
    },
  });
  return manager.contender('seed-fix');
}
