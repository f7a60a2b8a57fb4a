/**
 * A session's durable identity as the contract reports it, from what an engine keeps of a session
 * across its incarnations (the log's session row; the Restate session object's identity): one rule for
 * both engines.
 */
import type { StoredSession } from '../store/index.js';
import type { DurableIdentity } from './types.js';

/** What every engine keeps of a session after its incarnations end: the log's session row, without the log's own bookkeeping. */
export type IdentityRow = Omit<StoredSession, 'incarnationSeq'>;

/**
 * The identity of `row`, with the live incarnation's prompt number when it has gone further than the
 * row knows. A live stream reports no disposal (a revived session's last one is history).
 */
export function durableIdentity(row: IdentityRow, livePromptNumber = 0): DurableIdentity {
  return {
    sessionDbId: row.sessionDbId,
    contentSessionId: row.contentSessionId,
    project: row.project,
    createdAt: row.createdAt,
    lastPromptNumber: Math.max(row.lastPromptNumber, livePromptNumber),
    stream: {
      status: row.status,
      lastSeq: row.lastSeq,
      disposal: row.status === 'live' ? null : row.disposal,
      summary: row.summary,
    },
  };
}
