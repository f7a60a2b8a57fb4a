/** Reading a session's snapshot: its state name, its lifecycle, and the view the API reports. */

export { addUsage, type UsageByProvider, usageSum } from './usage.js';
export type { SessionSnapshot, SessionView } from './view.js';
export { describeSession, eventLabel, lifecycleOf, stateNameOf } from './view.js';
