/**
 * A bench-only agent for the worker: sends a batch's bounded history to Anthropic's Messages API (the
 * fake on loopback, through the official SDK) the way a provider that takes cache breakpoints would, so
 * that the cost benchmark can measure our history bound's effect on the bill before the `claude`
 * provider (Claude Code through the Agent SDK) is in src/agents. Not a provider of the project: it lives
 * in bench/ and is given to `startWorker` by bench/server-ours.ts.
 *
 * The history goes as it is stored, oldest first: the pinned init prompt as the first user message, then
 * the window (which opens on a user message after a cut), the batch's message last. One `cache_control`
 * breakpoint, on the last message: the previous call's prefix, up to its own last message two blocks
 * back, is found by the cache's lookback, and the new part is written for the next call.
 */
import Anthropic from '@anthropic-ai/sdk';
import { type Agent, AgentError, type AgentRequest } from '../../src/index.js';

type MessageParam = Anthropic.MessageParam;

/** The request's messages: the stored history, the batch's message last, a breakpoint on it. */
export function anthropicMessages(request: AgentRequest): MessageParam[] {
  const messages: { role: 'user' | 'assistant'; text: string }[] = request.history.map((message) => ({
    role: message.role,
    text: message.content,
  }));
  const last = messages.at(-1);
  if (last === undefined || last.role !== 'user' || last.text !== request.item.prompt)
    messages.push({ role: 'user', text: request.item.prompt });
  return messages.map(({ role, text }, index) => ({
    role,
    content: [index === messages.length - 1 ? { type: 'text', text, cache_control: { type: 'ephemeral' } } : { type: 'text', text }],
  }));
}

export function createBenchAnthropicAgent(options: { readonly baseUrl: string; readonly model: string }): Agent {
  const client = new Anthropic({ apiKey: 'sk-ant-bench', baseURL: options.baseUrl, maxRetries: 0 });
  return {
    name: `bench-anthropic (${options.model})`,
    async run(request, signal) {
      try {
        const message = await client.messages.create(
          { model: options.model, max_tokens: 8_192, messages: anthropicMessages(request) },
          { signal },
        );
        const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        const { usage } = message;
        const inputTokens = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
        return { text, usage: { inputTokens, outputTokens: usage.output_tokens } };
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof Anthropic.APIError && error.status === 400) throw new AgentError('fatal', error.message);
        throw new AgentError('retryable', (error as Error).message);
      }
    },
  };
}
