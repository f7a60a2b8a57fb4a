import { expect } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { SessionContext } from '../../../machines/session.machine.js';
import {
  connectSessionCluster,
  type RunningSessionService,
  registerSessionService,
  type SessionClusterClient,
  startSessionService,
} from '../../../src/cluster/index.js';
import { startRestate, until } from './restate-server.js';

export { until };

/** A real single-node restate-server and this process's session service registered with it. */
export async function startEngine(options: Parameters<typeof startSessionService>[0]) {
  const restate = await startRestate();
  let service: RunningSessionService | undefined;
  try {
    service = await startSessionService(options);
    await registerSessionService(restate.node().adminUrl, service.url);
  } catch (error) {
    await service?.close();
    await restate.stop();
    throw error;
  }
  const client: SessionClusterClient = connectSessionCluster({ ingressUrl: restate.node().ingressUrl });
  return {
    restate,
    service,
    client,
    async stop() {
      try {
        await service!.close();
      } finally {
        await restate.stop();
      }
    },
  };
}

/** Waits for a session's state name (or `disposed` once it is gone); returns the time it was first seen. */
export async function waitForState(client: SessionClusterClient, sessionDbId: number, state: string, timeoutMs = 10_000): Promise<number> {
  let seen = '';
  await until(
    async () => {
      seen = (await client.get(sessionDbId))?.state ?? 'disposed';
      return seen === state;
    },
    timeoutMs,
    () => `session ${sessionDbId} in ${state} (last seen ${seen})`,
  );
  return Date.now();
}

/** The last context each embedded session actor had, by sessionDbId (from xstate inspection). */
export function contextRecorder() {
  const contexts = new Map<number, SessionContext>();
  return {
    contexts,
    inspect(event: InspectionEvent) {
      if (event.type !== '@xstate.snapshot') return;
      const context = (event.snapshot as { context?: SessionContext }).context;
      if (context?.sessionDbId !== undefined) contexts.set(context.sessionDbId, context);
    },
  };
}

/**
 * The timeline and identity of a disposed session, once both say so: the session object records its
 * disposal in its identity and sends its last entries to the timeline object in the same commit, and
 * the timeline object applies them a moment later.
 */
export async function disposedTimeline(client: SessionClusterClient, sessionDbId: number) {
  const read = async () => ({ ...(await client.timeline(sessionDbId)), identity: (await client.identity(sessionDbId))! });
  let view = await read();
  await until(
    async () => {
      view = await read();
      return view.identity?.status === 'disposed' && view.entries.at(-1)?.state === 'disposed';
    },
    10_000,
    () => `disposal of session ${sessionDbId} recorded`,
  );
  return view;
}

/**
 * Every item acknowledged entered history once (alone, or within one batch's user message), each user
 * message was answered by exactly one reply right after it (`reply` says what the agent answers to a
 * prompt), and the counters agree: one item processed per item, two messages per agent call.
 */
export function expectAnsweredOnce(context: SessionContext, prompts: readonly string[], reply?: (prompt: string) => string): void {
  const { history } = context;
  for (const prompt of prompts) {
    expect(
      history.filter((message) => message.role === 'user' && message.content.includes(prompt)),
      prompt,
    ).toHaveLength(1);
  }
  const calls = history.filter((message) => message.role === 'user').length;
  history.forEach((message, index) => {
    if (message.role !== 'user') return;
    const answer = history[index + 1];
    expect(answer?.role, `the reply to ${message.content.slice(0, 40)}`).toBe('assistant');
    if (reply !== undefined) expect(answer!.content).toBe(reply(message.content));
  });
  expect(history.filter((message) => message.role === 'assistant')).toHaveLength(calls);
  expect(context.counters.processed).toBe(prompts.length);
  expect(context.counters.messagesAppended).toBe(calls * 2);
}
