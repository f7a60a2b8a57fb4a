import * as restate from '@restatedev/restate-sdk';
import { MemoryRejectedError, type MemoryStore, parseReply, type RememberResult, type ReplySource } from '../memories/index.js';
import { SERVICE_NAMES } from './handles.js';

/** A reply whose memories are to be stored: where it comes from (its key), and its text. */
export interface ReplyToRemember {
  readonly source: ReplySource;
  readonly reply: string;
}

/** What one invocation did: stored the reply's memories, found them stored before, or had them refused for good. */
export type RememberOutcome = RememberResult | { readonly stored: false; readonly rejected: string };

/**
 * Stores a reply's memories in the cluster's memory store (PostgreSQL), once. The session object sends
 * each reply here as a one-way message in the same turn that appends the reply to its history: the send
 * is an entry of that turn's journal, so a replay of the turn does not send it again, and the turn does
 * not complete without it. This invocation is then retried by Restate until it succeeds (the store out
 * of reach waits, sessions go on meanwhile), and `remember` is idempotent on (sessionDbId, seq), so a
 * retry after the store committed but before Restate heard of it stores nothing twice. The write runs in
 * `ctx.run`: once it is journaled, a replay does not repeat it. What the store refuses for good (a value
 * it cannot hold) ends the invocation, logged, instead of retrying forever.
 * Without a store (`store` undefined: CLAUDE_MEM_POSTGRES_URL unset in this process while set in the
 * one that sent the message) the invocation fails and is retried, so that a process that has the store
 * takes it: give every service process the same settings.
 */
export function createMemoryService(store: MemoryStore | undefined) {
  return restate.service({
    name: SERVICE_NAMES.memories,
    handlers: {
      remember: restate.handlers.handler(
        { ingressPrivate: true },
        async (ctx: restate.Context, request: ReplyToRemember): Promise<RememberOutcome> => {
          if (store === undefined) {
            throw new Error(
              'this service process has no memory store (CLAUDE_MEM_POSTGRES_URL): the reply waits for one that has it; give every service process the same settings',
            );
          }
          const parsed = parseReply(request.reply);
          try {
            return await ctx.run('remember', async () => {
              try {
                return await store.remember(request.source, parsed);
              } catch (error) {
                if (error instanceof MemoryRejectedError) throw new restate.TerminalError(error.message);
                throw error;
              }
            });
          } catch (error) {
            if (!(error instanceof restate.TerminalError)) throw error;
            const { sessionDbId, seq } = request.source;
            ctx.console.error(
              `the memories of reply ${sessionDbId}/${seq} were refused by the memory store and are not kept: ${error.message}`,
            );
            return { stored: false, rejected: error.message };
          }
        },
      ),
    },
    // Until the store answers: quickly at first, then every 10 s at most (Restate's own default), with no
    // limit on attempts unless the server's default retry policy sets one (docs/scale-out.md).
    options: { retryPolicy: { initialInterval: 200, exponentiationFactor: 2, maxInterval: 10_000 } },
  });
}

export type MemoryService = ReturnType<typeof createMemoryService>;
