/**
 * `seed-fix`: the straightforward fix that ../shared/background/issue-532-analysis.md proposes
 * (written from that description): the same Map, one setTimeout per session that deletes it after the
 * TTL (cleared and set again on every activity), and the history spliced to its newest 50 messages
 * after every append. Replies are appended once.
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
}

const MAX_CONVERSATION_HISTORY_LENGTH = 50;

export function createSeedFix(options: ContenderOptions): Contender {
  const sessions = new Map<number, ActiveSession>();
  const cleanupTimers = new Map<number, unknown>();
  const idsByContent = new Map<string, number>();
  let nextId = 1;
  let pending = Promise.resolve();

  const deleteSession = (id: number) => {
    const session = sessions.get(id);
    if (session) idsByContent.delete(session.contentSessionId);
    sessions.delete(id);
    cleanupTimers.delete(id);
  };

  const scheduleSessionCleanup = (id: number) => {
    const existing = cleanupTimers.get(id);
    if (existing !== undefined) options.clock.clearTimeout(existing);
    cleanupTimers.set(id, options.clock.setTimeout(() => deleteSession(id), options.idleTtlMs));
  };

  const trimConversationHistory = (session: ActiveSession) => {
    const history = session.conversationHistory;
    if (history.length > MAX_CONVERSATION_HISTORY_LENGTH) history.splice(0, history.length - MAX_CONVERSATION_HISTORY_LENGTH);
  };

  const sessionFor = (contentSessionId: string, project: string, prompt = ''): ActiveSession => {
    let id = idsByContent.get(contentSessionId);
    if (id === undefined) {
      id = nextId++;
      idsByContent.set(contentSessionId, id);
    }
    let session = sessions.get(id);
    if (session === undefined) {
      session = { sessionDbId: id, contentSessionId, project, userPrompt: prompt, lastPromptNumber: 0, startTime: options.clock.now(), conversationHistory: [] };
      sessions.set(id, session);
    }
    return session;
  };

  const process = (session: ActiveSession, prompt: string) => {
    pending = pending.then(async () => {
      session.conversationHistory.push({ role: 'user', content: prompt });
      trimConversationHistory(session);
      const reply = await options.reply(prompt);
      session.conversationHistory.push({ role: 'assistant', content: reply });
      trimConversationHistory(session);
      scheduleSessionCleanup(session.sessionDbId);
    });
    return pending;
  };

  return {
    name: 'seed-fix',
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
      for (const timer of cleanupTimers.values()) options.clock.clearTimeout(timer);
      sessions.clear();
      cleanupTimers.clear();
    },
  };
}
