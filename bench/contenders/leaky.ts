/**
 * `leaky`: the in-memory session handling of a v8.5.7-style worker, as ../shared/background/
 * issue-532-analysis.md describes it (written from that description, not from its code):
 * - sessions live in a Map and are never removed (no TTL; only an explicit delete would);
 * - conversationHistory is appended to without bound;
 * - each reply is appended twice: once by the agent, once more by the response processor.
 */
import type { Contender, ContenderOptions } from './types.js';

interface Message {
  role: 'user' | 'assistant';
  content: string;
}

interface ActiveSession {
  sessionDbId: number;
  contentSessionId: string;
  project: string;
  userPrompt: string;
  lastPromptNumber: number;
  startTime: number;
  conversationHistory: Message[];
  abortController: AbortController;
}

export function createLeaky(options: ContenderOptions): Contender {
  const sessions = new Map<number, ActiveSession>();
  const idsByContent = new Map<string, number>();
  let nextId = 1;
  let pending = Promise.resolve();

  const sessionFor = (contentSessionId: string, project: string, prompt = ''): ActiveSession => {
    let id = idsByContent.get(contentSessionId);
    if (id === undefined) {
      id = nextId++;
      idsByContent.set(contentSessionId, id);
    }
    let session = sessions.get(id);
    if (session === undefined) {
      session = {
        sessionDbId: id,
        contentSessionId,
        project,
        userPrompt: prompt,
        lastPromptNumber: 0,
        startTime: options.clock.now(),
        conversationHistory: [],
        abortController: new AbortController(),
      };
      sessions.set(id, session);
    }
    return session;
  };

  /** The agent's turn: the prompt, the reply (appended by the agent), and the response processor's copy. */
  const process = (session: ActiveSession, prompt: string) => {
    pending = pending.then(async () => {
      session.conversationHistory.push({ role: 'user', content: prompt });
      const reply = await options.reply(prompt);
      session.conversationHistory.push({ role: 'assistant', content: reply });
      session.conversationHistory.push({ role: 'assistant', content: reply });
    });
    return pending;
  };

  return {
    name: 'leaky',
    async init(contentSessionId, project, prompt) {
      const session = sessionFor(contentSessionId, project, prompt);
      session.userPrompt = prompt;
      session.lastPromptNumber++;
      await process(session, prompt);
    },
    observe: (contentSessionId, observation) => process(sessionFor(contentSessionId, ''), observation),
    summarize: (contentSessionId, message) => process(sessionFor(contentSessionId, ''), message),
    liveSessions: () => sessions.size,
    idle: () => pending,
    async close() {
      sessions.clear();
    },
  };
}
