/**
 * The `claude` provider's two possible shapes, measured side by side with the real Claude Code binary
 * against the fake Anthropic API (test/support/fake-anthropic.ts), on one synthetic session: a pinned
 * init prompt, then batches of observations, the history bounded as the worker bounds it.
 *
 *   A. one query() per batch, the bounded history flattened into one text block;
 *   B. one query() per batch, the bounded history as one content block per message (what src/agents/claude.ts does);
 *   C. one Claude Code process kept per session (streaming input), each batch a new user turn; a new
 *      process, seeded with the bounded window, whenever the bound trims the window (Claude Code's own
 *      conversation would otherwise outgrow it).
 *
 * For each: bytes sent per observation, tokens per observation as Anthropic would bill them (input,
 * cache write, cache read: the fake models Anthropic's prompt cache: a prefix is cached at each
 * cache_control breakpoint, a request reads the longest cached prefix ending at a breakpoint or at one
 * of the 20 blocks before it, at least 2,048 tokens for Haiku; tokens are estimated as characters / 4),
 * their cost at Haiku 4.5's prices, and latency per batch (the fake answers at once: this is Claude
 * Code's own overhead). The process's resident memory is sampled from /proc.
 *
 *   npx tsx bench/claude-modes.ts [--batches 30] [--items 5] [--max-messages 50]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { query, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { type AgentRequest, ChildProcesses, CLAUDE_SYSTEM_PROMPT, claudeContent, createClaudeAgent } from '../src/agents/index.js';
import { type ConversationMessage, estimateTokens, trimHistory } from '../src/history/index.js';
import {
  type AnthropicRequest,
  type AnthropicRequestBody,
  type AnthropicResponder,
  startFakeAnthropic,
} from '../test/support/fake-anthropic.js';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '30' },
    items: { type: 'string', default: '5' },
    'max-messages': { type: 'string', default: '50' },
  },
});
const BATCHES = Number(args.batches);
const ITEMS = Number(args.items);
const LIMITS = { maxMessages: Number(args['max-messages']), maxTokens: 100_000 };
const MIN_CACHEABLE = 2_048;
const LOOKBACK = 20;
// Haiku 4.5, $ per million tokens.
const PRICE = { input: 1, cacheWrite: 1.25, cacheRead: 0.1, output: 5 };

/** Anthropic's prompt cache, modelled: prefixes cached at breakpoints, read back with a 20-block lookback. */
interface Billed {
  readonly input: number;
  readonly cacheWrite: number;
  readonly cacheRead: number;
  readonly output: number;
}

function cachingResponder(reply: (index: number) => string, billed: Billed[]): AnthropicResponder {
  const cache = new Set<string>();
  return (request: AnthropicRequest, index: number) => {
    const blocks = blocksOf(request.body);
    const hashes: string[] = [];
    const prefixTokens: number[] = [];
    let hash = createHash('sha256');
    let tokens = 0;
    for (const block of blocks) {
      hash = hash.copy().update(block.key);
      hashes.push(hash.copy().digest('hex'));
      tokens += block.tokens;
      prefixTokens.push(tokens);
    }
    const breakpoints = blocks.flatMap((block, i) => (block.breakpoint ? [i] : []));
    let read = 0;
    for (const point of breakpoints) {
      for (let j = point; j >= Math.max(0, point - LOOKBACK); j--) {
        if (cache.has(hashes[j]!)) {
          read = Math.max(read, prefixTokens[j]!);
          break;
        }
      }
    }
    const last = breakpoints.at(-1);
    const cachedUpTo = last === undefined || prefixTokens[last]! < MIN_CACHEABLE ? read : Math.max(read, prefixTokens[last]!);
    for (const point of breakpoints) if (prefixTokens[point]! >= MIN_CACHEABLE) cache.add(hashes[point]!);
    const text = reply(index);
    billed.push({ input: tokens - cachedUpTo, cacheWrite: cachedUpTo - read, cacheRead: read, output: Math.ceil(text.length / 4) });
    return {
      text,
      usage: {
        input_tokens: tokens - cachedUpTo,
        cache_creation_input_tokens: cachedUpTo - read,
        cache_read_input_tokens: read,
        output_tokens: Math.ceil(text.length / 4),
      },
    };
  };
}

interface Block {
  readonly key: string;
  readonly tokens: number;
  readonly breakpoint: boolean;
}
function blocksOf(body: AnthropicRequestBody): Block[] {
  const block = (value: unknown, role: string): Block => {
    const { cache_control, ...rest } = (typeof value === 'string' ? { type: 'text', text: value } : value) as Record<string, unknown>;
    const key = `${role}:${JSON.stringify(rest)}`;
    return { key, tokens: Math.ceil(key.length / 4), breakpoint: cache_control !== undefined };
  };
  const system = typeof body.system === 'string' ? [body.system] : (body.system ?? []);
  return [
    ...(body.tools ?? []).map((tool) => block(tool, 'tool')),
    ...system.map((part) => block(part, 'system')),
    ...body.messages.flatMap((message) =>
      typeof message.content === 'string'
        ? [block(message.content, message.role)]
        : message.content.map((part) => block(part, message.role)),
    ),
  ];
}

/** One synthetic observation: a tool use as the worker's prompt builds it, about 1.2 KB. */
function observation(batch: number, item: number): string {
  const lines = Array.from({ length: 14 }, (_, i) => `  line ${i}: const value${i} = compute(${batch}, ${item}, ${i}); // details`);
  return [
    '<tool_use>',
    '<tool_name>Read</tool_name>',
    `<working_directory>/repo</working_directory>`,
    `<tool_input>{"file_path":"src/module-${batch}-${item}.ts"}</tool_input>`,
    '<tool_response>',
    ...lines,
    '</tool_response>',
    '</tool_use>',
  ].join('\n');
}
const replyFor = (index: number) =>
  Array.from(
    { length: ITEMS },
    (_, i) => `<observation><type>discovery</type><title>Read module ${index}-${i}</title><facts>it computes values</facts></observation>`,
  ).join('\n');
const INIT =
  'You observe a coding session. <project>bench</project> <user_request>Refactor the modules to share one compute function.</user_request>';

interface ModeResult {
  readonly mode: string;
  readonly calls: number;
  readonly processesStarted: number;
  readonly bytesPerObservation: number;
  readonly inputPerObservation: number;
  readonly cacheWritePerObservation: number;
  readonly cacheReadPerObservation: number;
  readonly outputPerObservation: number;
  readonly dollarsPer1000Observations: number;
  readonly medianBatchMs: number;
  readonly rssMiB: number;
}

function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function runMode(mode: 'A' | 'B' | 'C', home: string): Promise<ModeResult> {
  const billed: Billed[] = [];
  const fake = await startFakeAnthropic(cachingResponder(replyFor, billed));
  const env = { PATH: process.env.PATH, HOME: home, ANTHROPIC_BASE_URL: fake.baseUrl, ANTHROPIC_API_KEY: 'sk-ant-bench' };
  const processes = new ChildProcesses({ maxRunning: 1 });
  let history: ConversationMessage[] = [];
  let trimmedBefore = false;
  // Whether the bound cut the window since mode C's process was seeded: its conversation is then longer than the window.
  let trimmedSinceSeed = false;
  const append = (message: ConversationMessage) => {
    const result = trimHistory([...history, message], LIMITS, { trimmedBefore });
    trimmedBefore ||= result.trimmedMessages > 0;
    trimmedSinceSeed ||= result.trimmedMessages > 0;
    history = [...result.history];
  };
  const latencies: number[] = [];
  let started = 0;
  let rss = 0;
  const agent = createClaudeAgent({ processes, env });
  // Mode C's kept process.
  let pending: ((message: SDKUserMessage) => void) | undefined;
  let queued: SDKUserMessage[] = [];
  let kept: ReturnType<typeof query> | undefined;
  let keptReader: AsyncIterator<unknown> | undefined;
  const startKept = () => {
    kept?.close();
    queued = [];
    async function* input(): AsyncGenerator<SDKUserMessage> {
      for (;;) {
        const next = queued.shift() ?? (await new Promise<SDKUserMessage>((resolve) => (pending = resolve)));
        yield next;
      }
    }
    kept = query({
      prompt: input(),
      options: {
        model: 'claude-haiku-4-5-20251001',
        tools: [],
        maxTurns: 1,
        thinking: { type: 'disabled' },
        systemPrompt: CLAUDE_SYSTEM_PROMPT,
        settingSources: [],
        persistSession: false,
        cwd: tmpdir(),
        env: { ...env, CLAUDE_CODE_MAX_RETRIES: '0', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
      },
    });
    keptReader = kept[Symbol.asyncIterator]();
    started++;
  };
  const send = (message: SDKUserMessage) => {
    if (pending) {
      const resolve = pending;
      pending = undefined;
      resolve(message);
    } else queued.push(message);
  };

  const requestFor = (prompt: string, kind: 'prompt' | 'observation'): AgentRequest => {
    const item = { id: 'b', kind, prompt, promptTokens: estimateTokens(prompt), queuedAt: 0 };
    return { sessionDbId: 1, attempt: 1, maxAttempts: 3, item, items: [item], history };
  };
  const flattened = (request: AgentRequest) =>
    claudeContent(request)
      .map((block) => block.text)
      .join('\n\n');

  for (let batch = 0; batch <= BATCHES; batch++) {
    const prompt = batch === 0 ? INIT : Array.from({ length: ITEMS }, (_, i) => observation(batch, i)).join('\n\n');
    append({ role: 'user', content: prompt, tokens: estimateTokens(prompt), ...(batch === 0 ? { pinned: true } : {}) });
    const request = requestFor(prompt, batch === 0 ? 'prompt' : 'observation');
    const t0 = performance.now();
    let reply: string;
    if (mode === 'C') {
      // A new process, seeded with the window, when there is none yet or the bound moved the window.
      const fresh = kept === undefined || trimmedSinceSeed;
      if (fresh) startKept();
      trimmedSinceSeed = false;
      const content = fresh ? claudeContent(request) : [{ type: 'text' as const, text: prompt }];
      send({ type: 'user', message: { role: 'user', content }, parent_tool_use_id: null });
      const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(currentClaudePids()))), 100);
      for (;;) {
        const { value } = (await keptReader!.next()) as { value: { type: string; result?: string } };
        if (value.type === 'result') {
          reply = value.result ?? '';
          break;
        }
      }
      clearInterval(sampler);
    } else {
      const sampler = setInterval(() => (rss = Math.max(rss, rssMiB(processes.pids))), 100);
      const answer =
        mode === 'B'
          ? await agent.run(request, new AbortController().signal)
          : await agent.run(
              { ...request, history: [], item: { ...request.item, prompt: flattened(request) } },
              new AbortController().signal,
            );
      clearInterval(sampler);
      reply = answer.text;
      started++;
    }
    if (batch > 0) latencies.push(performance.now() - t0);
    append({ role: 'assistant', content: reply, tokens: estimateTokens(reply) });
  }
  kept?.close();
  processes.killAll();
  await processes.settled();
  await fake.close();

  const observations = BATCHES * ITEMS;
  const sum = (pick: (request: AnthropicRequest) => number) => fake.requests.slice(1).reduce((total, request) => total + pick(request), 0);
  // The init prompt's call is the same in every mode: the observations' calls are compared.
  const add = (key: keyof Billed) => billed.slice(1).reduce((total, u) => total + u[key], 0);
  const dollars =
    (add('input') * PRICE.input +
      add('cacheWrite') * PRICE.cacheWrite +
      add('cacheRead') * PRICE.cacheRead +
      add('output') * PRICE.output) /
    1e6;
  return {
    mode,
    calls: fake.requests.length,
    processesStarted: started,
    bytesPerObservation: Math.round(sum((request) => request.bytes) / observations),
    inputPerObservation: Math.round(add('input') / observations),
    cacheWritePerObservation: Math.round(add('cacheWrite') / observations),
    cacheReadPerObservation: Math.round(add('cacheRead') / observations),
    outputPerObservation: Math.round(add('output') / observations),
    dollarsPer1000Observations: Math.round((dollars / observations) * 1000 * 10_000) / 10_000,
    medianBatchMs: Math.round(median(latencies)),
    rssMiB: Math.round(rss),
  };
}

/** The pids of running Claude Code processes in streaming-input mode (mode C's kept process). */
function currentClaudePids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes('claude-agent-sdk-linux-x64/claude') && cmdline.includes('--input-format')) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

const home = mkdtempSync(join(tmpdir(), 'claude-bench-home-'));
try {
  const results: ModeResult[] = [];
  for (const mode of ['A', 'B', 'C'] as const) results.push(await runMode(mode, home));
  const table = [
    '| mode | calls | processes started | bytes sent / obs | input tok / obs | cache write tok / obs | cache read tok / obs | output tok / obs | $ / 1,000 obs (Haiku 4.5) | median ms / batch | Claude Code RSS MiB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.calls} | ${r.processesStarted} | ${r.bytesPerObservation} | ${r.inputPerObservation} | ${r.cacheWritePerObservation} | ${r.cacheReadPerObservation} | ${r.outputPerObservation} | ${r.dollarsPer1000Observations} | ${r.medianBatchMs} | ${r.rssMiB} |`,
    ),
  ].join('\n');
  console.log(table);
  writeFileSync(
    new URL(`./claude-modes-${LIMITS.maxMessages}.json`, import.meta.url),
    `${JSON.stringify({ at: new Date().toISOString(), batches: BATCHES, items: ITEMS, limits: LIMITS, results }, null, 2)}\n`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
