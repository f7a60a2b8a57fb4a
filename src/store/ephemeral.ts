import { newSession } from './stream.js';
import type { EventStore, StoredSession } from './types.js';

/**
 * No log at all: identities for live sessions only, forgotten at disposal so nothing accumulates.
 * For library users who want the lifecycle without persistence (and for the leak tests).
 */
export function createEphemeralStore(): EventStore {
  let nextSessionDbId = 1;
  const byId = new Map<number, StoredSession>();
  const byContentId = new Map<string, number>();
  /** Work keys of live sessions only: forgotten with the session, like everything else here. */
  const workKeys = new Map<number, Set<string>>();

  return {
    location: 'nowhere (ephemeral)',
    openSession(contentSessionId, project, at) {
      const known = byContentId.get(contentSessionId);
      if (known !== undefined) return byId.get(known)!;
      const session = newSession(nextSessionDbId++, contentSessionId, project, at);
      byId.set(session.sessionDbId, session);
      byContentId.set(contentSessionId, session.sessionDbId);
      return session;
    },
    getSession: (sessionDbId) => byId.get(sessionDbId),
    findSession: (contentSessionId) => {
      const sessionDbId = byContentId.get(contentSessionId);
      return sessionDbId === undefined ? undefined : byId.get(sessionDbId);
    },
    append(sessionDbId, event) {
      if (event.workKey === undefined) return 0;
      const keys = workKeys.get(sessionDbId) ?? new Set<string>();
      keys.add(event.workKey);
      workKeys.set(sessionDbId, keys);
      return 0;
    },
    saveSnapshot() {},
    sessionDisposed(sessionDbId) {
      const session = byId.get(sessionDbId);
      if (session === undefined) return;
      byId.delete(sessionDbId);
      byContentId.delete(session.contentSessionId);
      workKeys.delete(sessionDbId);
    },
    flush: () => Promise.resolve(),
    hasWorkKey: (sessionDbId, key) => workKeys.get(sessionDbId)?.has(key) ?? false,
    onCommitFailure: () => () => {},
    probeWrite() {},
    readEvents: () => [],
    latestSnapshot: () => undefined,
    liveSessions: () => [],
    compact: () => ({ compacted: 0, eventsRemoved: 0 }),
    stats: () => ({ sessions: byId.size, liveStreams: byId.size, events: 0, snapshots: 0 }),
    close() {},
  };
}
