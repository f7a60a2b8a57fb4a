/**
 * What a command means before the machine sees it, written once for every engine (the embedded
 * registry and the Restate session object both call these): the prompt number of an `init`, a full
 * queue, claude-mem's privacy rule, a repeated `tool_use_id`, the id a work item gets, whether the
 * machine took the item, the agent's outcome as the event the machine logs, and the delays counted
 * down to a deadline in context.
 *
 * Pure: no I/O, no clock. Time comes in as `at` (the engine's clock, or the event's own time), and what
 * only an engine can know (whether its log already holds a tool_use_id, the last prompt number of a
 * session it disposed) comes in as facts. An engine keeps only its storage and its transport.
 */
import type { AnyEventObject } from 'xstate';
import { AGENT_DONE, AGENT_ERROR } from './session.context.js';
import type { AgentFailure, AgentOutput, SessionContext, SessionEvent, WorkKind } from './session.types.js';

/** The limits the command rules read, from the engine's resolved options. */
export interface CommandLimits {
  /** Unprocessed items one session may hold; more work is refused (`queue-full`) until it drains. */
  readonly maxQueuedItems: number;
  /** A text's estimated tokens, computed once when its item is queued (the machine never estimates). */
  readonly estimateTokens: (text: string) => number;
}

export interface PromptCommand {
  readonly prompt: string;
  /** Omitted: the next number. A number the session already saw is a repeat and only counts as activity. */
  readonly promptNumber?: number;
}

export interface WorkCommand {
  readonly kind: Exclude<WorkKind, 'prompt'>;
  readonly prompt: string;
  /** A hook's tool_use_id: a second item with the same id is not queued. */
  readonly toolUseId?: string;
  /** Refuse (`not-prompted`) unless the session has had a public prompt: claude-mem's privacy rule. */
  readonly requirePrompt?: boolean;
}

/** The event an `init` becomes, and the prompt number it was given; or the queue is full. */
export type PromptOutcome =
  | { readonly ok: true; readonly event: Extract<SessionEvent, { type: 'INIT' }>; readonly promptNumber: number }
  | { readonly ok: false; readonly error: 'queue-full' };

/** The event an `enqueue` becomes; or the queue is full. */
export type WorkOutcome =
  | { readonly ok: true; readonly event: Extract<SessionEvent, { type: 'WORK_QUEUED' }> }
  | { readonly ok: false; readonly error: 'queue-full' };

/**
 * A new prompt queues an item, so it is refused when the queue is full; a repeated prompt number is
 * only activity and always taken. The prompt's tokens are estimated here, once.
 */
export function promptEvent(context: SessionContext, request: PromptCommand, limits: CommandLimits, at: number): PromptOutcome {
  const promptNumber = request.promptNumber ?? context.promptNumber + 1;
  if (promptNumber > context.promptNumber && context.queue.length >= limits.maxQueuedItems) return { ok: false, error: 'queue-full' };
  const event = { type: 'INIT', prompt: request.prompt, promptTokens: limits.estimateTokens(request.prompt), promptNumber, at } as const;
  return { ok: true, event, promptNumber };
}

/**
 * claude-mem's privacy rule: work that needs a prompt is taken only for a content session that has had a
 * public one, in any incarnation (`lastPromptNumber`, what the engine kept of the disposed ones) or in
 * the live one. A private prompt opens the session's identity and records nothing, so its number stays 0.
 */
export function hasPublicPrompt(lastPromptNumber: number, live: SessionContext | undefined): boolean {
  return Math.max(lastPromptNumber, live?.promptNumber ?? 0) > 0;
}

/**
 * What work is before any session is created or revived for it: refused for privacy, a retry of an item
 * the session was given before (the engine's log knows every tool_use_id it was ever given; answered as
 * the first time was, it queues and revives nothing), or new.
 */
export function screenWork(
  request: WorkCommand,
  facts: { readonly prompted: boolean; readonly knownToolUse: boolean },
): 'not-prompted' | 'duplicate' | 'new' {
  if (request.requirePrompt === true && !facts.prompted) return 'not-prompted';
  if (request.toolUseId !== undefined && facts.knownToolUse) return 'duplicate';
  return 'new';
}

/**
 * The item queued work becomes. Its id is the hook's tool_use_id, or `${kind}-${n}-${at}` (n: the
 * session's count of queued items, plus one), unique within the session.
 */
export function workEvent(context: SessionContext, request: WorkCommand, limits: CommandLimits, at: number): WorkOutcome {
  if (context.queue.length >= limits.maxQueuedItems) return { ok: false, error: 'queue-full' };
  const { toolUseId } = request;
  const item = {
    id: toolUseId ?? `${request.kind}-${context.counters.queued + 1}-${at}`,
    kind: request.kind,
    prompt: request.prompt,
    promptTokens: limits.estimateTokens(request.prompt),
    ...(toolUseId === undefined ? {} : { toolUseId }),
    queuedAt: at,
  };
  return { ok: true, event: { type: 'WORK_QUEUED', item, at } };
}

/** Whether the machine took the item (`queued`), or found it queued already (`duplicate`): counted once taken. */
export function workStatus(before: SessionContext, after: SessionContext | undefined): 'queued' | 'duplicate' {
  return after !== undefined && after.counters.queued > before.counters.queued ? 'queued' : 'duplicate';
}

/** How one agent call ended: its reply, or the failure the machine routes on (never a thrown error). */
export type AgentOutcome = { readonly ok: true; readonly output: AgentOutput } | { readonly ok: false; readonly failure: AgentFailure };

/** The event an agent call's outcome is logged as: the names xstate gives an invoked actor's done and error events. */
export function agentEvent(outcome: AgentOutcome): Extract<SessionEvent, { type: 'xstate.done.actor.agent' | 'xstate.error.actor.agent' }> {
  return outcome.ok ? { type: AGENT_DONE, output: outcome.output } : { type: AGENT_ERROR, error: outcome.failure };
}

/** When an agent call's outcome happened: the reply's or the failure's time. */
export function agentOutcomeTime(outcome: AgentOutcome): number {
  return outcome.ok ? outcome.output.at : outcome.failure.at;
}

/** What remains until `deadline` at `now`; 0 for no deadline or one passed (a timer that fires at once). */
export function untilDeadline(deadline: number | null, now: number): number {
  return deadline === null ? 0 : Math.max(0, deadline - now);
}

/**
 * The machine's deadline delays, counting down to the deadline in context from `now` (the engine's
 * clock, or the time of the event being processed): a re-armed or recovered timer waits only for what
 * remains. Supplied to the machine with `.provide({ delays })` by every engine.
 */
export function deadlineDelays(now: (context: SessionContext, event: AnyEventObject) => number) {
  return {
    idleDeadline: ({ context, event }: { context: SessionContext; event: AnyEventObject }) =>
      untilDeadline(context.idleDeadline, now(context, event)),
    graceDeadline: ({ context, event }: { context: SessionContext; event: AnyEventObject }) =>
      untilDeadline(context.graceDeadline, now(context, event)),
    retryAt: ({ context, event }: { context: SessionContext; event: AnyEventObject }) =>
      untilDeadline(context.retryAt, now(context, event)),
    gatherDeadline: ({ context, event }: { context: SessionContext; event: AnyEventObject }) =>
      untilDeadline(context.gatherDeadline, now(context, event)),
  };
}
