import { eventLabel } from '../session/index.js';
import type { SessionTimeline } from './replay.js';

const time = (at: number) => new Date(at).toISOString().replace('T', ' ').replace('Z', '');

/** A session's timeline as a table for a terminal: one line per event, the state it left behind. */
export function formatTimeline(timeline: SessionTimeline): string {
  const { session, entries, skipped } = timeline;
  const lines: string[] = [];
  const ending =
    session.status === 'live'
      ? 'live'
      : `${session.status}: ${session.disposal?.reason ?? session.summary?.reason} at ${time(session.disposal?.at ?? session.summary!.disposedAt)} UTC`;
  lines.push(`session ${session.sessionDbId} (content session ${session.contentSessionId}, project ${session.project || '-'}): ${ending}`);
  if (session.summary) {
    const s = session.summary;
    lines.push(
      `compacted at ${time(s.compactedAt)} UTC: ${s.events} events, ${s.processed} items processed, ${s.failed} failed, ` +
        `${s.droppedItems} dropped; created ${time(s.createdAt)} UTC. Only this summary is kept.`,
    );
  }
  if (entries.length === 0) return lines.join('\n');

  const rows = entries.map((entry) => [
    time(entry.at),
    String(entry.seq),
    eventLabel(entry.type),
    entry.state,
    String(entry.queueLength),
    `${entry.historyLength} (${entry.historyTokens} tok)`,
    entry.detail,
  ]);
  const header = ['time (UTC)', 'seq', 'event', 'state after', 'queue', 'history', 'detail'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (row: string[]) =>
    row
      .map((cell, column) =>
        column === row.length - 1 ? cell : column === 1 || column === 4 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  lines.push('', render(header), ...rows.map(render));
  for (const skip of skipped) lines.push(`warning: event ${skip.seq} (${skip.type}) skipped: ${skip.reason}`);
  return lines.join('\n');
}
