/**
 * Owns the `gemini` provider, on Google's official SDK (`@google/genai`): the Gemini API's
 * generateContent with the session's bounded history as contents (the pinned init prompt as the system
 * instruction once something follows it, replies as the model's turns). The SDK's own retries are off:
 * the session's backoff retries, without holding an agent slot.
 * May not: decide what a refusal does to the session (errors.ts says what kind it is; the machine acts).
 */
import { ApiError, type GenerateContentResponse, GoogleGenAI } from '@google/genai';
import { type Agent, AgentError, type AgentReply } from './agent.js';
import { refusal } from './errors.js';
import { chatMessages } from './openai.js';

/** claude-mem's default (CLAUDE_MEM_GEMINI_MODEL): Google's alias for the current Flash model. */
export const DEFAULT_GEMINI_MODEL = 'gemini-flash-latest';

export interface GeminiAgentOptions {
  /** CLAUDE_MEM_GEMINI_API_KEY. Required: Google's API answers nothing without one. */
  readonly apiKey: string;
  /** CLAUDE_MEM_GEMINI_MODEL; default gemini-flash-latest. */
  readonly model?: string;
  /** The Gemini API's address; default Google's (tests point it at a fake on loopback). */
  readonly baseUrl?: string;
  /** A call taking longer is aborted and reported as retryable. Default 120 s. */
  readonly timeoutMs?: number;
}

/** How long Google asks to wait: a RetryInfo `retryDelay` ("39s") in the error's details. */
function retryDelayMs(message: string): number | undefined {
  const match = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return match === null ? undefined : Math.round(Number(match[1]) * 1_000);
}

export function createGeminiAgent(options: GeminiAgentOptions): Agent {
  const model = options.model ?? DEFAULT_GEMINI_MODEL;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const client = new GoogleGenAI({
    apiKey: options.apiKey,
    httpOptions: { ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }), timeout: timeoutMs },
  });
  return {
    name: 'gemini',
    async run(request, signal): Promise<AgentReply> {
      signal.throwIfAborted();
      const messages = chatMessages(request);
      const system = messages[0]?.role === 'system' ? messages.shift()!.content : undefined;
      let response: GenerateContentResponse;
      try {
        response = await client.models.generateContent({
          model,
          contents: messages.map((message) => ({
            role: message.role === 'assistant' ? 'model' : 'user',
            parts: [{ text: message.content }],
          })),
          config: { abortSignal: signal, ...(system === undefined ? {} : { systemInstruction: system }) },
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (error instanceof ApiError) {
          throw refusal('gemini', error.status, error.message, { retryAfterMs: retryDelayMs(error.message), cause: error });
        }
        const message = (error as Error).message ?? String(error);
        if ((error as Error).name === 'AbortError' || /timed? ?out|timeout/i.test(message)) {
          throw new AgentError('retryable', `gemini gave no answer within ${timeoutMs} ms`, undefined, { cause: error });
        }
        throw new AgentError('retryable', `gemini unreachable or unreadable: ${message}`, undefined, { cause: error });
      }
      const text = response.text;
      if (typeof text !== 'string' || text === '') {
        const why = response.promptFeedback?.blockReason ?? response.candidates?.[0]?.finishReason ?? 'no text';
        // A prompt Google blocks is about its content: it will be blocked again.
        const kind = response.promptFeedback?.blockReason !== undefined ? 'fatal' : 'retryable';
        throw new AgentError(kind, `gemini answered without text (${why})`);
      }
      const usage = response.usageMetadata;
      const cached = usage?.cachedContentTokenCount ?? 0;
      return {
        text,
        ...(response.modelVersion ? { model: response.modelVersion } : {}),
        ...(usage === undefined
          ? {}
          : {
              usage: {
                // promptTokenCount includes the cached part: input is the uncached prompt, as for every provider.
                inputTokens: Math.max(0, (usage.promptTokenCount ?? 0) - cached),
                outputTokens: (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0),
                cacheReadTokens: cached,
                cacheWriteTokens: 0,
              },
            }),
      };
    },
  };
}
