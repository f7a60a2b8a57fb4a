/**
 * A fake Anthropic Messages API on loopback for the cost benchmark: the tests' server
 * (test/support/fake-anthropic.ts: the wire protocol, JSON or Server-Sent Events, Anthropic's errors)
 * with a responder that is a model of the API: requests validated as the API does, `usage` (input,
 * cache creation, cache read and output tokens) charged by the pure model in ./anthropic-cache.ts at
 * Claude Haiku 4.5's prices, answers after a model's latency.
 *
 * What it answers: one `<observation>` per observation marker (`obs:…;`) in the last block of the last
 * user message, a `<summary>` when that block carries a summary marker (`sum:…;`), the conversation's
 * summary when it is Claude Code's compaction request (`compact:…;`), and a short acknowledgement
 * otherwise. Tokens are estimated as the project does (characters / 4).
 *
 * Time runs `speed` times faster than the wall clock, for the whole benchmark: the latency of a call (a
 * fixed part, prompt processing, and output at a model's pace, in session time) and the cache's TTL are
 * in session time, so a session of half an hour runs in minutes and forms the batches it would form in
 * real time.
 */
import { startFakeAnthropic as startAnthropicServer } from '../../test/support/fake-anthropic.js';
import {
  type CacheBlock,
  type CacheRules,
  dollarsOf,
  HAIKU_4_5_CACHE_RULES,
  PromptCache,
  TooManyBreakpointsError,
} from './anthropic-cache.js';

export const CONTEXT_WINDOW_TOKENS = 200_000;
export const OBSERVATION_MARKER = /obs:[\w-]+;/g;
export const SUMMARY_MARKER = /sum:[\w-]+;/;
export const COMPACT_MARKER = /compact:[\w-]+;/;

/** Session-time latency of a call, in ms: what a model like Haiku 4.5 takes. */
export interface LatencyModel {
  readonly fixedMs: number;
  /** Per token of prompt not read from the cache (prefill). */
  readonly uncachedTokenMs: number;
  /** Per token read from the cache. */
  readonly cachedTokenMs: number;
  /** Per output token (1000 / tokens per second). */
  readonly outputTokenMs: number;
}

/** About 0.5 s to the first token on a short prompt, 50,000 uncached prompt tokens/s, 150 output tokens/s. */
export const HAIKU_LATENCY: LatencyModel = { fixedMs: 500, uncachedTokenMs: 0.02, cachedTokenMs: 0.002, outputTokenMs: 1_000 / 150 };

/** The sizes of what the fake writes, in characters (tokens are a quarter). */
export const REPLY_CHARS = { observation: 600, summary: 1_200, compaction: 12_000, acknowledgement: 80 } as const;

export interface FakeAnthropicCall {
  /** Session-time ms since the benchmark's start when the answer went out. */
  readonly answeredAt: number;
  readonly inputTokens: number;
  readonly cacheCreationInputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly outputTokens: number;
  readonly dollars: number;
  readonly messages: number;
  readonly stream: boolean;
  /** Observation markers answered; `summary` / `compaction` when the call was one. */
  readonly markers: readonly string[];
  readonly kind: 'observations' | 'summary' | 'compaction' | 'other';
}

export interface FakeAnthropic {
  readonly baseUrl: string;
  readonly calls: FakeAnthropicCall[];
  /** Session-time ms when each marker (observation or summary) was first answered. */
  readonly answered: Map<string, number>;
  /** Requests to anything but `POST /v1/messages` (answered 404), by method and path: none is expected. */
  readonly others: string[];
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  /** Session time per wall-clock time. */
  readonly speed: number;
  /** The benchmark's session time, in ms. */
  readonly now: () => number;
  readonly latency?: LatencyModel;
  readonly rules?: CacheRules;
}

interface TextBlock {
  readonly type: 'text';
  readonly text: string;
  readonly cache_control?: { readonly type: 'ephemeral'; readonly ttl?: '5m' | '1h' };
}
interface MessagesRequest {
  readonly model: string;
  readonly max_tokens: number;
  readonly tools?: readonly {
    readonly name: string;
    readonly cache_control?: TextBlock['cache_control'];
    readonly [field: string]: unknown;
  }[];
  readonly system?: string | readonly TextBlock[];
  readonly messages: readonly { readonly role: 'user' | 'assistant'; readonly content: string | readonly TextBlock[] }[];
  readonly stream?: boolean;
}

const tokensOf = (text: string) => Math.ceil(text.length / 4);

class BadRequest extends Error {}

function textBlocks(content: unknown, where: string): readonly TextBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw new BadRequest(`${where}: Input should be a valid string or list of content blocks`);
  return content.map((block, index) => {
    if (typeof block !== 'object' || block === null || block.type !== 'text' || typeof block.text !== 'string') {
      throw new BadRequest(`${where}.${index}: only text blocks are supported by this fake`);
    }
    return block as TextBlock;
  });
}

/** Validates a request as the Messages API does (the parts this benchmark uses) and flattens it into cache blocks. */
export function parseRequest(body: unknown): { request: MessagesRequest; blocks: CacheBlock[]; lastUser: string } {
  if (typeof body !== 'object' || body === null) throw new BadRequest('body: Input should be an object');
  const request = body as MessagesRequest;
  if (typeof request.model !== 'string' || request.model === '') throw new BadRequest('model: Field required');
  if (!Number.isInteger(request.max_tokens) || request.max_tokens < 1) throw new BadRequest('max_tokens: Field required');
  if (!Array.isArray(request.messages) || request.messages.length === 0) throw new BadRequest('messages: at least one message is required');
  const blocks: CacheBlock[] = [];
  const add = (place: string, block: TextBlock) => {
    const ttl = block.cache_control?.ttl ?? '5m';
    blocks.push({
      content: `${place}\u0000${block.text}`,
      tokens: tokensOf(block.text),
      ...(block.cache_control ? { breakpoint: ttl } : {}),
    });
  };
  if (request.tools !== undefined) {
    if (!Array.isArray(request.tools)) throw new BadRequest('tools: Input should be a valid list');
    // A tool definition is part of the prefix, before the system prompt, as its JSON.
    for (const tool of request.tools)
      add('tools', { type: 'text', text: JSON.stringify(tool), ...(tool.cache_control ? { cache_control: tool.cache_control } : {}) });
  }
  if (request.system !== undefined) for (const block of textBlocks(request.system, 'system')) add('system', block);
  request.messages.forEach((message, index) => {
    if (message.role !== 'user' && message.role !== 'assistant')
      throw new BadRequest(`messages.${index}.role: Input should be 'user' or 'assistant'`);
    if (index === 0 && message.role !== 'user') throw new BadRequest('messages: first message must use the "user" role');
    for (const block of textBlocks(message.content, `messages.${index}.content`)) add(message.role, block);
  });
  // What is asked is the last block of the last message: the whole message when it is one block (a
  // conversation, as upstream-13 and seed-fix send it), the batch when the message carries the history
  // before it as blocks of its own (the `claude` provider), whose earlier markers are not asked again.
  const last = request.messages.at(-1)!;
  const lastUser = last.role === 'user' ? (textBlocks(last.content, 'last').at(-1)?.text ?? '') : '';
  return { request, blocks, lastUser };
}

/** The fake model's answer to a last user message. */
export function replyTo(lastUser: string): { text: string; markers: string[]; kind: FakeAnthropicCall['kind'] } {
  const compact = lastUser.match(COMPACT_MARKER);
  if (compact) {
    const text = `<summary>The session so far, compacted (${compact[0]}).</summary>`.padEnd(REPLY_CHARS.compaction, ' .');
    return { text, markers: [compact[0]], kind: 'compaction' };
  }
  const summary = lastUser.match(SUMMARY_MARKER);
  if (summary) {
    const text =
      `<summary><request>${summary[0]}</request><completed>the login test is fixed</completed>`.padEnd(REPLY_CHARS.summary - 10, ' .') +
      '</summary>';
    return { text, markers: [summary[0]], kind: 'summary' };
  }
  const markers = [...new Set(lastUser.match(OBSERVATION_MARKER) ?? [])];
  if (markers.length === 0)
    return { text: 'Noted: I will observe the session.'.padEnd(REPLY_CHARS.acknowledgement, ' '), markers, kind: 'other' };
  const close = '</narrative></observation>';
  const observation = (marker: string) =>
    `<observation><type>discovery</type><title>${marker}</title><facts><fact>read the file it names</fact></facts><narrative>`.padEnd(
      REPLY_CHARS.observation - close.length,
      ' .',
    ) + close;
  const text = markers.map(observation).join('\n');
  return { text, markers, kind: 'observations' };
}

/** What the fake answers to one request, charged to the cache at its arrival and answered after its latency. */
function respond(body: unknown, options: FakeAnthropicOptions, cache: PromptCache, record: (call: FakeAnthropicCall) => void) {
  const latency = options.latency ?? HAIKU_LATENCY;
  let parsed: ReturnType<typeof parseRequest>;
  let usage: ReturnType<PromptCache['charge']>;
  try {
    parsed = parseRequest(body);
    const promptTokens = parsed.blocks.reduce((sum, block) => sum + block.tokens, 0);
    if (promptTokens > CONTEXT_WINDOW_TOKENS) {
      throw new BadRequest(`prompt is too long: ${promptTokens} tokens > ${CONTEXT_WINDOW_TOKENS} maximum`);
    }
    usage = cache.charge(parsed.blocks, options.now());
  } catch (error) {
    if (error instanceof BadRequest || error instanceof TooManyBreakpointsError) return { status: 400, message: error.message };
    throw error;
  }
  const { request, lastUser } = parsed;
  const reply = replyTo(lastUser);
  const outputTokens = tokensOf(reply.text);
  const sessionMs =
    latency.fixedMs +
    (usage.inputTokens + usage.cacheCreationInputTokens) * latency.uncachedTokenMs +
    usage.cacheReadInputTokens * latency.cachedTokenMs +
    outputTokens * latency.outputTokenMs;
  return {
    text: reply.text,
    usage: {
      input_tokens: usage.inputTokens,
      cache_creation_input_tokens: usage.cacheCreationInputTokens,
      cache_read_input_tokens: usage.cacheReadInputTokens,
      cache_creation: {
        ephemeral_5m_input_tokens: usage.cacheCreationInputTokens - usage.cacheCreation1hInputTokens,
        ephemeral_1h_input_tokens: usage.cacheCreation1hInputTokens,
      },
      output_tokens: outputTokens,
      service_tier: 'standard',
    },
    delayMs: sessionMs / options.speed,
    onSend: () =>
      record({
        answeredAt: options.now(),
        inputTokens: usage.inputTokens,
        cacheCreationInputTokens: usage.cacheCreationInputTokens,
        cacheReadInputTokens: usage.cacheReadInputTokens,
        outputTokens,
        dollars: dollarsOf({ ...usage, outputTokens }),
        messages: request.messages.length,
        stream: request.stream === true,
        markers: reply.markers,
        kind: reply.kind,
      }),
  };
}

/** The tests' fake Messages API server (its wire protocol, its errors), answering as this model says. */
export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const cache = new PromptCache(options.rules ?? HAIKU_4_5_CACHE_RULES);
  const calls: FakeAnthropicCall[] = [];
  const answered = new Map<string, number>();
  const record = (call: FakeAnthropicCall) => {
    calls.push(call);
    for (const marker of call.markers) if (!answered.has(marker)) answered.set(marker, call.answeredAt);
  };
  const server = await startAnthropicServer((request) => respond(request.body, options, cache, record));
  return { baseUrl: server.baseUrl, calls, answered, others: server.others, close: () => server.close() };
}
