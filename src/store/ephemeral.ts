import type { Disposal } from '../../machines/session.machine.js';
import type { EventRecord, EventStore, StoredSession } from './types.js';

/**
 * No log at all: identities for live sessions only, forgotten at disposal so nothing accumulates.
 * For library users who want the lifecycle without persistence.
 */
export function createEphemeralStore(): EventStore {
  let nextSessionDbId = 1;
  const byId = new Map<number, StoredSession>();
  const byContentId = new Map<string, number>();

  return {
    openSession(contentSessionId, project, at) {
      const known = byContentId.get(contentSessionId);
      if (known !== undefined) return byId.get(known)!;
      const session: StoredSession = {
        sessionDbId: nextSessionDbId++,
        contentSessionId,
        project,
        createdAt: at,
        lastPromptNumber: 0,
        disposal: null,
      };
      byId.set(session.sessionDbId, session);
      byContentId.set(contentSessionId, session.sessionDbId);
      return session;
    },
    getSession: (sessionDbId) => byId.get(sessionDbId),
    append(_sessionDbId: number, _event: EventRecord) {},
    sessionDisposed(sessionDbId: number, _disposal: Disposal) {
      const session = byId.get(sessionDbId);
      if (session === undefined) return;
      byId.delete(sessionDbId);
      byContentId.delete(session.contentSessionId);
    },
    flush: () => Promise.resolve(),
  };
}
