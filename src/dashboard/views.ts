import type { EngineStats, SessionEngine, SessionInspection } from '../engine/index.js';
import { eventLabel, type SessionView } from '../session/index.js';
import type { HistoryMessage, NextDeadline, SessionDetail, SessionRow, StatsSummary } from './protocol.js';

/** Longest message text the session page receives; the log keeps it whole. */
const MAX_MESSAGE_CHARS = 4_000;
/** The session page shows the newest events of a long stream; `npm run replay` prints them all. */
export const MAX_TIMELINE_ENTRIES = 1_000;

/**
 * What happens next to a session left alone. The idle deadline is lazy (activity in idle does not re-arm
 * the timer; the timer re-arms for the remainder when it fires), so the true expiry is the later of the
 * armed deadline and last activity + TTL.
 */
export function nextDeadline(view: SessionView, idleTtlMs: number): NextDeadline | null {
  if (view.lifecycle === 'idle' && view.idleDeadline !== null) {
    return { kind: 'expiring', at: Math.max(view.idleDeadline, view.lastActivityAt + idleTtlMs) };
  }
  if (view.lifecycle === 'expiring' && view.graceDeadline !== null) return { kind: 'disposed', at: view.graceDeadline };
  if (view.tags.includes('retry-wait') && view.retryAt !== null) return { kind: 'retry', at: view.retryAt };
  return null;
}

export function sessionRow(view: SessionView, idleTtlMs: number): SessionRow {
  return {
    sessionDbId: view.sessionDbId,
    contentSessionId: view.contentSessionId,
    project: view.project,
    // The engine lists live sessions only: never `disposed`.
    lifecycle: view.lifecycle as SessionRow['lifecycle'],
    state: view.state,
    ...(view.tags.includes('agent-call')
      ? { waitsFor: 'agent' as const }
      : view.tags.includes('slot-request')
        ? { waitsFor: 'slot' as const }
        : view.tags.includes('batch-gathering')
          ? { waitsFor: 'batch' as const }
          : {}),
    queueLength: view.queueLength,
    historyLength: view.historyLength,
    historyTokens: view.historyTokens,
    createdAt: view.createdAt,
    lastActivityAt: view.lastActivityAt,
    next: nextDeadline(view, idleTtlMs),
  };
}

/**
 * The rows an update carries: the `dirty` sessions read one by one (an engine that announces each
 * event), or, when `known` is given (a polled engine), the whole list, with the ids gone since `known`
 * (and the set seen now, for the next reading).
 */
export async function changedRows(
  engine: SessionEngine,
  idleTtlMs: number,
  dirty: readonly number[],
  known: ReadonlySet<number> | undefined,
): Promise<{ upserts: SessionRow[]; removed: number[]; seen?: Set<number> }> {
  const upserts: SessionRow[] = [];
  const removed: number[] = [];
  if (known !== undefined) {
    const seen = new Set<number>();
    for (const view of await engine.list()) {
      seen.add(view.sessionDbId);
      upserts.push(sessionRow(view, idleTtlMs));
    }
    for (const sessionDbId of new Set([...known, ...dirty])) if (!seen.has(sessionDbId)) removed.push(sessionDbId);
    return { upserts, removed, seen };
  }
  const views = await Promise.all(dirty.map((sessionDbId) => engine.get({ sessionDbId })));
  dirty.forEach((sessionDbId, index) => {
    const view = views[index];
    if (view === undefined) removed.push(sessionDbId);
    else upserts.push(sessionRow(view, idleTtlMs));
  });
  return { upserts, removed };
}

export function statsSummary(stats: EngineStats): StatsSummary {
  return {
    live: stats.live,
    dormant: stats.dormant,
    byLifecycle: stats.byLifecycle,
    byState: stats.byState,
    slots: { capacity: stats.slots.capacity, inUse: stats.slots.inUse, waiting: stats.slots.waiting },
    disposals: stats.disposals,
    costByProvider: stats.usageByProvider ?? {},
  };
}

/**
 * Everything the session page shows, from what the engine reports of the session: its state and
 * deadlines while live, its history (the live machine's context), its timeline and, once disposed,
 * why it went.
 */
export function sessionDetail(
  inspection: SessionInspection,
  idleTtlMs: number,
  now: number,
  engine: Pick<SessionEngine, 'capabilities' | 'description'>,
): SessionDetail {
  const { identity, view, context, timeline } = inspection;
  const messages: HistoryMessage[] = (context?.history ?? []).map((message) => ({
    role: message.role,
    tokens: message.tokens,
    pinned: message.pinned === true,
    content: message.content.length > MAX_MESSAGE_CHARS ? `${message.content.slice(0, MAX_MESSAGE_CHARS)}…` : message.content,
    clipped: message.content.length > MAX_MESSAGE_CHARS,
  }));
  const { stream } = identity;
  const disposal =
    stream.disposal ??
    (stream.summary ? { reason: stream.summary.reason, at: stream.summary.disposedAt, droppedItems: stream.summary.droppedItems } : null);
  return {
    now,
    sessionDbId: identity.sessionDbId,
    contentSessionId: identity.contentSessionId,
    project: identity.project,
    lifecycle: view?.lifecycle ?? 'disposed',
    state: view?.state ?? 'disposed',
    stream: { status: stream.status, lastSeq: stream.lastSeq },
    live:
      view === null
        ? null
        : {
            queueLength: view.queueLength,
            promptNumber: view.promptNumber,
            createdAt: view.createdAt,
            lastActivityAt: view.lastActivityAt,
            idleDeadline: view.idleDeadline,
            graceDeadline: view.graceDeadline,
            retryAt: view.retryAt,
            attempt: view.attempt,
            completing: view.completing,
            lastFailure:
              view.lastFailure === null
                ? null
                : { kind: view.lastFailure.kind, message: view.lastFailure.message, at: view.lastFailure.at },
            next: nextDeadline(view, idleTtlMs),
            counters: { ...view.counters },
            costByProvider: view.usageByProvider ?? {},
          },
    disposal: view === null ? disposal : null,
    summary: stream.summary
      ? {
          events: stream.summary.events,
          processed: stream.summary.processed,
          failed: stream.summary.failed,
          compactedAt: stream.summary.compactedAt,
        }
      : null,
    history: {
      messages,
      tokens: messages.reduce((sum, m) => sum + m.tokens, 0),
      maxMessages: context?.settings.maxHistoryMessages ?? 0,
      maxTokens: context?.settings.maxHistoryTokens ?? 0,
    },
    timeline: {
      total: timeline.total,
      skipped: timeline.skipped,
      // Every event is in a log here (replay prints it), or in the engine's bounded timeline.
      source: engine.capabilities.localLog ? 'log' : engine.description.kind,
      entries: timeline.entries.slice(-MAX_TIMELINE_ENTRIES).map((entry) => ({
        seq: entry.seq,
        at: entry.at,
        event: eventLabel(entry.type),
        state: entry.state,
        queueLength: entry.queueLength,
        historyLength: entry.historyLength,
        historyTokens: entry.historyTokens,
        detail: entry.detail,
      })),
    },
  };
}
