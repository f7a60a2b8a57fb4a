/**
 * The dashboard: a page served by the worker at `/` and `/dashboard` that shows the live sessions,
 * their deadlines, why the others went away, and the worker's memory, updated by Server-Sent Events.
 * The page itself is built from web/ by `npm run build` (scripts/build-dashboard.ts).
 */

export { type AssetManifest, defaultAssetsDir, MANIFEST_FILE } from './assets.js';
export { DASHBOARD_PUBLIC_PATHS, type DashboardOptions, dashboardPlugin } from './plugin.js';
export type * from './protocol.js';
export { DISPOSAL_REASONS } from './protocol.js';
export { DEFAULT_STREAM_LIMITS, type StreamLimits } from './stream.js';
export { MAX_TIMELINE_ENTRIES } from './views.js';
