/** Live visual debugging of session actors with the Stately inspector (@statelyai/inspect). */

import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';

export { type InspectorRelay, InspectorRelayError, startInspectorRelay } from './relay.js';

/** Streams inspection events to a relay; `stop` closes the connection. */
export function connectInspector(url: string): { inspect: (event: InspectionEvent) => void; stop(): void } {
  const inspector = createWebSocketInspector({ url });
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    stop: () => inspector.stop(),
  };
}
