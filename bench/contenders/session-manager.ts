/**
 * The session handling of a v8.5.7-style worker, as the analysis of claude-mem's issue 532 (the one that
 * started this project, kept outside the repository) describes it (written from that description, not
 * from its code; docs/architecture.md and README sum it up): an in-memory Map of active
 * sessions whose conversationHistory the agent appends to. `leaky` is this as it is; `seed-fix` is this
 * with the fix the analysis proposes, through the hooks below.
 */
import type { Contender, ContenderOptions, HistoryMessage } from './types.js';

export type Message = HistoryMessage;

export interface ActiveSession {
  readonly sessionDbId: number;
  readonly contentSessionId: string;
  readonly project: string;
  userPrompt: string;
  lastPromptNumber: number;
  readonly startTime: number;
  readonly conversationHistory: Message[];
}

export interface SessionManagerHooks {
  /** After every append to a session's history. */
  readonly afterAppend?: (session: ActiveSession) => void;
  /** How many times a reply is appended: the agent appends it, and v8.5.7's response processor again. */
  readonly replyAppends: 1 | 2;
  /** After an item is answered. */
  readonly afterItem?: (session: ActiveSession) => void;
  readonly onClose?: () => void;
}

export class SessionManager {
  readonly sessions = new Map<number, ActiveSession>();
  readonly #idsByContent = new Map<string, number>();
  #nextId = 1;
  #pending = Promise.resolve();

  constructor(
    private readonly options: ContenderOptions,
    private readonly hooks: SessionManagerHooks,
  ) {}

  deleteSession(sessionDbId: number): void {
    const session = this.sessions.get(sessionDbId);
    if (session) this.#idsByContent.delete(session.contentSessionId);
    this.sessions.delete(sessionDbId);
  }

  sessionFor(contentSessionId: string, project: string, prompt = ''): ActiveSession {
    let id = this.#idsByContent.get(contentSessionId);
    if (id === undefined) {
      id = this.#nextId++;
      this.#idsByContent.set(contentSessionId, id);
    }
    let session = this.sessions.get(id);
    if (session === undefined) {
      session = {
        sessionDbId: id,
        contentSessionId,
        project,
        userPrompt: prompt,
        lastPromptNumber: 0,
        startTime: this.options.clock.now(),
        conversationHistory: [],
      };
      this.sessions.set(id, session);
    }
    return session;
  }

  /** The agent's turn for one item: the prompt in, the reply back, one item at a time. */
  process(session: ActiveSession, prompt: string): Promise<void> {
    this.#pending = this.#pending.then(async () => {
      this.#append(session, { role: 'user', content: prompt });
      const reply = await this.options.reply(prompt, session.conversationHistory);
      for (let i = 0; i < this.hooks.replyAppends; i++) this.#append(session, { role: 'assistant', content: reply });
      this.hooks.afterItem?.(session);
    });
    return this.#pending;
  }

  #append(session: ActiveSession, message: Message): void {
    session.conversationHistory.push(message);
    this.hooks.afterAppend?.(session);
  }

  contender(name: string): Contender {
    return {
      name,
      init: async (contentSessionId, project, prompt) => {
        const session = this.sessionFor(contentSessionId, project, prompt);
        session.userPrompt = prompt;
        session.lastPromptNumber++;
        await this.process(session, prompt);
      },
      observe: (contentSessionId, observation) => this.process(this.sessionFor(contentSessionId, ''), observation),
      summarize: (contentSessionId, message) => this.process(this.sessionFor(contentSessionId, ''), message),
      liveSessions: () => this.sessions.size,
      idle: () => this.#pending,
      close: async () => {
        this.hooks.onClose?.();
        this.sessions.clear();
      },
    };
  }
}
