import { expect } from 'vitest';
import type { SessionContext } from '../../../machines/session.machine.js';
import {
  connectRestateEngine,
  type RunningSessionService,
  registerSessionService,
  startSessionService,
} from '../../../src/cluster/index.js';
import type { DurableIdentity, SessionEngine } from '../../../src/index.js';
import type { TimelineEntry } from '../../../src/replay/index.js';
import { waitForEngine } from '../../support/wait.js';
import { startRestate } from './restate-server.js';

/** A real single-node restate-server, this process's session services registered with it, and the Restate engine over its ingress. */
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
  const engine: SessionEngine = connectRestateEngine({ ingressUrl: restate.node().ingressUrl });
  return {
    restate,
    service,
    engine,
    async stop() {
      try {
        await engine.close();
        await service!.close();
      } finally {
        await restate.stop();
      }
    },
  };
}

/** The live machine's context (history included), through the engine. */
export async function liveContext(engine: SessionEngine, sessionDbId: number): Promise<SessionContext> {
  const context = (await engine.inspect(sessionDbId))?.context;
  if (context == null) throw new Error(`session ${sessionDbId} is not live`);
  return context;
}

/**
 * The timeline and identity of a disposed session, once both say so: on Restate the session object
 * records its disposal in its identity and sends its last entries to the timeline object in the same
 * commit, and the timeline object applies them a moment later.
 */
export async function disposedTimeline(
  engine: SessionEngine,
  sessionDbId: number,
): Promise<{ readonly identity: DurableIdentity; readonly entries: readonly TimelineEntry[] }> {
  let seen: { identity: DurableIdentity; entries: readonly TimelineEntry[] } | undefined;
  await waitForEngine(
    engine,
    async () => {
      const inspection = await engine.inspect(sessionDbId);
      seen = inspection === undefined ? undefined : { identity: inspection.identity, entries: inspection.timeline.entries };
      return seen?.identity.stream.status === 'disposed' && seen.entries.at(-1)?.state === 'disposed';
    },
    { what: () => `disposal of session ${sessionDbId} recorded (last seen ${seen?.identity.stream.status})` },
  );
  return seen!;
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
