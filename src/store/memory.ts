import type { Disposal } from '../../machines/session.machine.js';
import { afterAppend, afterDisposal, newSession, summaryOf } from './stream.js';
import type { DisposalCounts, EventRecord, EventStore, LoggedEvent, SnapshotRecord, StoredSession } from './types.js';

interface Stream {
  session: StoredSession;
  events: LoggedEvent[];
  workKeys: Set<string>;
  snapshot: SnapshotRecord | undefined;
  counts: DisposalCounts;
}

/**
 * The log in process memory: the same contract as the SQLite store, nothing survives the process.
 * For tests, and for library users who want the audit trail without a file.
 */
export function createMemoryStore(): EventStore {
  let nextSessionDbId = 1;
  const streams = new Map<number, Stream>();
  const byContentId = new Map<string, number>();

  const streamOf = (sessionDbId: number): Stream => {
    const stream = streams.get(sessionDbId);
    if (stream === undefined) throw new Error(`memory store: no session ${sessionDbId}`);
    return stream;
  };

  return {
    location: 'memory',
    openSession(contentSessionId, project, at) {
      const known = byContentId.get(contentSessionId);
      if (known !== undefined) return streamOf(known).session;
      const session = newSession(nextSessionDbId++, contentSessionId, project, at);
      streams.set(session.sessionDbId, {
        session,
        events: [],
        workKeys: new Set(),
        snapshot: undefined,
        counts: { processed: 0, failed: 0 },
      });
      byContentId.set(contentSessionId, session.sessionDbId);
      return session;
    },
    getSession: (sessionDbId) => streams.get(sessionDbId)?.session,
    findSession(contentSessionId) {
      const sessionDbId = byContentId.get(contentSessionId);
      return sessionDbId === undefined ? undefined : streams.get(sessionDbId)?.session;
    },
    append(sessionDbId, event: EventRecord) {
      const stream = streamOf(sessionDbId);
      const seq = stream.session.lastSeq + 1;
      // Kept as given: xstate's events and contexts are immutable, so nothing rewrites them later.
      stream.events.push({ sessionDbId, seq, type: event.type, payload: event.payload, at: event.at });
      if (event.workKey !== undefined) stream.workKeys.add(event.workKey);
      stream.session = afterAppend(stream.session, seq, event);
      return seq;
    },
    saveSnapshot(sessionDbId, snapshot) {
      streamOf(sessionDbId).snapshot = snapshot;
    },
    sessionDisposed(sessionDbId: number, disposal: Disposal, counts: DisposalCounts) {
      const stream = streamOf(sessionDbId);
      stream.session = afterDisposal(stream.session, disposal);
      stream.counts = counts;
    },
    flush: () => Promise.resolve(),
    hasWorkKey: (sessionDbId, key) => streams.get(sessionDbId)?.workKeys.has(key) ?? false,
    // Memory does not fill up the way a disk does: a commit here never fails.
    onCommitFailure: () => () => {},
    probeWrite() {},
    readEvents(sessionDbId, page = {}) {
      const events = streams.get(sessionDbId)?.events ?? [];
      const after = page.afterSeq ?? 0;
      const from = events.filter((event) => event.seq > after);
      return page.limit === undefined ? from : from.slice(0, page.limit);
    },
    latestSnapshot: (sessionDbId) => streams.get(sessionDbId)?.snapshot,
    liveSessions: () => [...streams.values()].filter((s) => s.session.status === 'live').map((s) => s.session),
    compact(disposedBefore, now) {
      let compacted = 0;
      let eventsRemoved = 0;
      for (const stream of streams.values()) {
        const { session } = stream;
        if (session.status !== 'disposed' || session.disposal === null || session.disposal.at > disposedBefore) continue;
        stream.session = { ...session, status: 'compacted', summary: summaryOf(session, stream.counts, stream.events.length, now) };
        eventsRemoved += stream.events.length;
        stream.events = [];
        stream.workKeys = new Set();
        stream.snapshot = undefined;
        compacted++;
      }
      return { compacted, eventsRemoved };
    },
    stats() {
      let events = 0;
      let snapshots = 0;
      let liveStreams = 0;
      for (const stream of streams.values()) {
        events += stream.events.length;
        if (stream.snapshot) snapshots++;
        if (stream.session.status === 'live') liveStreams++;
      }
      return { sessions: streams.size, liveStreams, events, snapshots };
    },
    close() {},
  };
}
