import type { ConversationMessage } from '../history/index.js';
import { type Agent, AgentError, type AgentRequest } from './agent.js';

export interface OpenAICompatibleOptions {
  /** e.g. https://openrouter.ai/api/v1, https://generativelanguage.googleapis.com/v1beta/openai, http://127.0.0.1:11434/v1 */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  /** A call taking longer is aborted and reported as retryable. Default 120 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * The session's bounded history as chat messages. The pinned init prompt, once something follows it,
 * goes first as the system message; the head item's prompt is the last user message, added for this
 * call if the bound has already cut it from the stored history (which it never grows to fit).
 */
export function chatMessages(request: AgentRequest): ChatMessage[] {
  const { history, item } = request;
  const messages: ChatMessage[] = history.map((message: ConversationMessage, index) => ({
    role: index === 0 && message.pinned && history.length > 1 ? 'system' : message.role,
    content: message.content,
  }));
  const last = history.at(-1);
  if (last === undefined || last.role !== 'user' || last.content !== item.prompt) messages.push({ role: 'user', content: item.prompt });
  return messages;
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** How a refusal is handled: auth and billing pause the queue; rate limits and outages back off; the rest fails the item. */
function classify(status: number, body: string, retryAfter: number | undefined): AgentError {
  const detail = `${status}: ${body.slice(0, 300)}`;
  if (status === 401 || status === 403) return new AgentError('paused', `provider refused the credentials (${detail})`, retryAfter);
  if (status === 402) return new AgentError('paused', `provider wants payment (${detail})`, retryAfter);
  if (status === 429 && /insufficient_quota|quota|billing|credits/i.test(body)) {
    return new AgentError('paused', `provider quota exhausted (${detail})`, retryAfter);
  }
  if (status === 429 || status === 408 || status >= 500) return new AgentError('retryable', `provider unavailable (${detail})`, retryAfter);
  return new AgentError('fatal', `provider rejected the request (${detail})`);
}

/**
 * Any `/chat/completions` endpoint: OpenRouter, Gemini's OpenAI endpoint, Ollama, llama.cpp, vLLM.
 * Honours the session's AbortSignal (deleted, evicted, shut down) as well as its own timeout.
 */
export function createOpenAICompatibleAgent(options: OpenAICompatibleOptions): Agent {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 120_000;
  return {
    name: `openai-compatible (${options.model})`,
    async run(request, signal) {
      signal.throwIfAborted();
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: JSON.stringify({ model: options.model, messages: chatMessages(request) }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        });
      } catch (error) {
        if (signal.aborted) throw error;
        const timedOut = (error as Error).name === 'TimeoutError';
        throw new AgentError(
          'retryable',
          timedOut ? `provider gave no answer within ${timeoutMs} ms` : `provider unreachable: ${(error as Error).message}`,
          undefined,
          {
            cause: error,
          },
        );
      }
      const text = await response.text();
      if (!response.ok) throw classify(response.status, text, retryAfterMs(response.headers.get('retry-after')));
      let body: { choices?: { message?: { content?: unknown } }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } };
      try {
        body = JSON.parse(text);
      } catch {
        throw new AgentError('retryable', `provider answered with something that is not JSON: ${text.slice(0, 200)}`);
      }
      const content = body.choices?.[0]?.message?.content;
      if (typeof content !== 'string')
        throw new AgentError('retryable', `provider answered without choices[0].message.content: ${text.slice(0, 200)}`);
      return {
        text: content,
        ...(body.usage ? { usage: { inputTokens: body.usage.prompt_tokens ?? 0, outputTokens: body.usage.completion_tokens ?? 0 } } : {}),
      };
    },
  };
}
