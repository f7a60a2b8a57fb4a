import type { SnapshotFrom, StateValue } from 'xstate';
import type {
  AgentFailure,
  Disposal,
  Lifecycle,
  SessionContext,
  SessionCounters,
  SessionMachine,
  SessionTag,
} from '../../machines/session.machine.js';
import { lifecycleOf, stateNameOf, tagsOf } from '../../machines/session.states.js';
import { historyTokens } from '../history/index.js';
import type { UsageByProvider } from './usage.js';

export type SessionSnapshot = SnapshotFrom<SessionMachine>;

/** An event type as people read it: `xstate.after.idleDeadline.session.idle` → `after idleDeadline`. */
export function eventLabel(eventType: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) return `${actor[2]} ${actor[1]}`;
  if (eventType === 'xstate.init') return 'created';
  return eventType;
}

export { lifecycleOf, stateNameOf };

/** What the registry tells about one live session. */
export interface SessionView {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  /** Full state name, e.g. `active.backoff`: to show. To ask what the state means, read `tags`. */
  readonly state: string;
  /** What the state means (`agent-call`, `retry-wait`, …: see SessionTag). */
  readonly tags: readonly SessionTag[];
  readonly lifecycle: Lifecycle;
  readonly queueLength: number;
  readonly historyLength: number;
  readonly historyTokens: number;
  readonly promptNumber: number;
  readonly createdAt: number;
  readonly lastActivityAt: number;
  readonly idleDeadline: number | null;
  readonly graceDeadline: number | null;
  readonly retryAt: number | null;
  /** While a batch gathers (`active.gathering`): when its timer fires (it may then wait for more, see the machine). */
  readonly gatherDeadline: number | null;
  readonly attempt: number;
  readonly completing: boolean;
  readonly lastFailure: AgentFailure | null;
  readonly counters: SessionCounters;
  /** What each provider that answered this session cost: batches and tokens as reported (see docs/providers.md). */
  readonly usageByProvider: UsageByProvider;
  readonly disposal: Disposal | null;
}

export function describeSession(value: StateValue, context: SessionContext): SessionView {
  return {
    sessionDbId: context.sessionDbId,
    contentSessionId: context.contentSessionId,
    project: context.project,
    state: stateNameOf(value),
    tags: tagsOf(value),
    lifecycle: lifecycleOf(value),
    queueLength: context.queue.length,
    historyLength: context.history.length,
    historyTokens: historyTokens(context.history),
    promptNumber: context.promptNumber,
    createdAt: context.createdAt,
    lastActivityAt: context.lastActivityAt,
    idleDeadline: context.idleDeadline,
    graceDeadline: context.graceDeadline,
    retryAt: context.retryAt,
    gatherDeadline: context.gatherDeadline ?? null,
    attempt: context.attempt,
    completing: context.completing,
    lastFailure: context.lastFailure,
    counters: context.counters,
    usageByProvider: context.usageByProvider ?? {},
    disposal: context.disposal,
  };
}
