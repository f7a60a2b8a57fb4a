/**
 * Owns the chat-completions providers, on OpenAI's official SDK (`openai`): `openai-compatible` (any
 * /chat/completions endpoint: OpenAI, Gemini's OpenAI endpoint, Ollama, llama.cpp, vLLM) and
 * `openrouter` (the same protocol at openrouter.ai, with its attribution headers). The SDK's own retries
 * are off: the session's backoff retries, without holding an agent slot.
 * May not: decide what a refusal does to the session (errors.ts says what kind it is; the machine acts).
 */
import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ConversationMessage } from '../history/index.js';
import { type Agent, AgentError, type AgentReply, type AgentRequest } from './agent.js';
import { refusal, retryAfterMs } from './errors.js';

export interface OpenAICompatibleOptions {
  /** Required: e.g. https://openrouter.ai/api/v1, https://generativelanguage.googleapis.com/v1beta/openai, http://127.0.0.1:11434/v1 */
  readonly baseUrl: string;
  /** Required: the model as the endpoint names it (no default fits every endpoint). */
  readonly model: string;
  /** Sent as `Authorization: Bearer …`; without one (the default) no Authorization header is sent (Ollama, llama.cpp). */
  readonly apiKey?: string;
  /** A call taking longer is aborted and reported as retryable. Default 120 s. */
  readonly timeoutMs?: number;
  /** Extra headers on every request (OpenRouter's HTTP-Referer and X-Title). Default none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The provider's id in logs and usage: `openai-compatible` (default) or `openrouter`. */
  readonly name?: string;
  /** How requests are sent. Default the global fetch (the SDK's); tests and proxies may give their own. */
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

/** What an APIError says, for the message and for the account prose: the provider's error body, else the SDK's message. */
function saidBy(error: APIError): string {
  return error.error === undefined ? error.message : JSON.stringify(error.error);
}

/** OpenRouter attribution: its analytics show the app by these. */
export function openRouterHeaders(siteUrl: string | undefined, appName: string | undefined): Record<string, string> {
  return {
    ...(siteUrl === undefined ? {} : { 'HTTP-Referer': siteUrl }),
    ...(appName === undefined ? {} : { 'X-Title': appName }),
  };
}

export const OPENROUTER_BASE_URL = 'https://openrouter.ai/api/v1';

export function createOpenAICompatibleAgent(options: OpenAICompatibleOptions): Agent {
  const name = options.name ?? 'openai-compatible';
  const timeoutMs = options.timeoutMs ?? 120_000;
  const client = new OpenAI({
    baseURL: options.baseUrl,
    // The SDK insists on a key; without one, the Authorization header is left out instead.
    apiKey: options.apiKey ?? 'unused',
    defaultHeaders: { ...options.headers, ...(options.apiKey === undefined ? { Authorization: null } : {}) },
    maxRetries: 0,
    timeout: timeoutMs,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  return {
    name,
    async run(request, signal): Promise<AgentReply> {
      signal.throwIfAborted();
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await client.chat.completions.create({ model: options.model, messages: chatMessages(request) }, { signal });
      } catch (error) {
        if (signal.aborted || error instanceof APIUserAbortError) throw signal.reason ?? error;
        if (error instanceof APIConnectionTimeoutError) {
          throw new AgentError('retryable', `${name} gave no answer within ${timeoutMs} ms`, undefined, { cause: error });
        }
        if (error instanceof APIError && error.status !== undefined) {
          throw refusal(name, error.status, saidBy(error), { retryAfterMs: retryAfterMs(error.headers), cause: error });
        }
        throw new AgentError('retryable', `${name} unreachable or unreadable: ${(error as Error).message}`, undefined, { cause: error });
      }
      // OpenRouter may answer 200 with an error of the upstream provider in the body.
      const upstream = (completion as { error?: { code?: number; message?: string } }).error;
      if (upstream !== undefined) throw refusal(name, upstream.code, JSON.stringify(upstream));
      const content = completion.choices?.[0]?.message?.content;
      if (typeof content !== 'string') {
        throw new AgentError(
          'retryable',
          `${name} answered without choices[0].message.content: ${JSON.stringify(completion).slice(0, 200)}`,
        );
      }
      return { text: content, ...(completion.model ? { model: completion.model } : {}), ...usageOf(completion.usage) };
    },
  };
}

/**
 * Usage as the endpoint reports it. `prompt_tokens` counts cached ones too: they are reported apart,
 * so that input means the uncached prompt tokens for every provider.
 */
function usageOf(usage: OpenAI.Completions.CompletionUsage | undefined): Pick<AgentReply, 'usage'> {
  if (usage === undefined) return {};
  const details = usage.prompt_tokens_details as { cached_tokens?: number; cache_write_tokens?: number } | undefined;
  const cached = details?.cached_tokens ?? 0;
  return {
    usage: {
      inputTokens: Math.max(0, (usage.prompt_tokens ?? 0) - cached),
      outputTokens: usage.completion_tokens ?? 0,
      cacheReadTokens: cached,
      cacheWriteTokens: details?.cache_write_tokens ?? 0,
    },
  };
}
