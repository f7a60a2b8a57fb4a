/**
 * Builds the dashboard page once before the tests (as `npm run build` does), so the workers the tests
 * start serve the page of this very tree.
 */
import { buildDashboard } from '../../scripts/build-dashboard.js';

export default async function setup(): Promise<void> {
  await buildDashboard();
}
