import type { Disposal } from '../../machines/session.machine.js';
import type { DisposalCounts, EventRecord, StoredSession, StreamSummary } from './types.js';

/** What a stream's identity row becomes once `event` is appended to it as `seq`. */
export function afterAppend(session: StoredSession, seq: number, event: EventRecord): StoredSession {
  if (event.type === 'xstate.init') {
    return { ...session, lastSeq: seq, incarnationSeq: seq, status: 'live', disposal: null };
  }
  if (event.type === 'INIT') {
    const promptNumber = (event.payload as { promptNumber?: unknown } | null)?.promptNumber;
    if (typeof promptNumber === 'number' && promptNumber > session.lastPromptNumber) {
      return { ...session, lastSeq: seq, lastPromptNumber: promptNumber };
    }
  }
  return { ...session, lastSeq: seq };
}

export function afterDisposal(session: StoredSession, disposal: Disposal): StoredSession {
  return { ...session, status: 'disposed', disposal };
}

/** The summary row of a compacted stream, folding in what earlier compactions left. */
export function summaryOf(session: StoredSession, counts: DisposalCounts, eventsRemoved: number, compactedAt: number): StreamSummary {
  const earlier = session.summary;
  const disposal = session.disposal!;
  return {
    createdAt: session.createdAt,
    disposedAt: disposal.at,
    reason: disposal.reason,
    droppedItems: disposal.droppedItems + (earlier?.droppedItems ?? 0),
    events: eventsRemoved + (earlier?.events ?? 0),
    processed: counts.processed + (earlier?.processed ?? 0),
    failed: counts.failed + (earlier?.failed ?? 0),
    compactedAt,
  };
}

export function newSession(sessionDbId: number, contentSessionId: string, project: string, at: number): StoredSession {
  return {
    sessionDbId,
    contentSessionId,
    project,
    createdAt: at,
    lastPromptNumber: 0,
    lastSeq: 0,
    incarnationSeq: null,
    status: 'live',
    disposal: null,
    summary: null,
  };
}
