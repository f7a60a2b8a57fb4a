/**
 * Owns what a reply's log event says about the memories derived from it: which reply it is (session and
 * seq, the key that makes storing it idempotent), its project, the items it answers, their prompt, its
 * time. The same on every engine and every store.
 * May not: parse the reply's text (parse.ts) or store anything.
 */
import type { AgentOutput } from '../../machines/session.machine.js';
import type { ReplySource } from './types.js';

/** The log event whose payload carries an agent's reply. */
export const REPLY_EVENT = 'xstate.done.actor.agent';

/** A reply event as a store reads it from the log. */
export interface ReplyEvent {
  readonly sessionDbId: number;
  readonly seq: number;
  readonly type: string;
  readonly payload: unknown;
  readonly at: number;
  readonly session: { readonly contentSessionId: string; readonly project: string };
}

/** The reply and where it comes from; undefined for an event that carries no reply (another type, an unreadable payload). */
export function replyOf(event: ReplyEvent): { readonly source: ReplySource; readonly reply: string } | undefined {
  if (event.type !== REPLY_EVENT) return undefined;
  const output = (event.payload as { output?: Partial<AgentOutput> } | null)?.output;
  if (output === undefined || output === null || typeof output.reply !== 'string') return undefined;
  const answers = Array.isArray(output.answers) ? output.answers : [];
  const promptNumber = answers.find((answer) => typeof answer?.promptNumber === 'number')?.promptNumber ?? null;
  return {
    reply: output.reply,
    source: {
      sessionDbId: event.sessionDbId,
      seq: event.seq,
      contentSessionId: event.session.contentSessionId,
      project: event.session.project,
      promptNumber,
      items: answers.flatMap((answer) => (typeof answer?.id === 'string' ? [answer.id] : [])),
      at: typeof output.at === 'number' ? output.at : event.at,
    },
  };
}
