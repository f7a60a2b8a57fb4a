/** Rebuilding sessions from the event log: recovery after a restart, and timelines for audit. */

export { formatTimeline } from './format.js';
export type { RebuiltSession, ReplayObserver, SessionTimeline, SkippedEvent, TimelineEntry } from './replay.js';
export { describeEvent, KNOWN_EVENT_TYPES, rebuildSession, sessionTimeline } from './replay.js';
