/**
 * Owns the `claude` provider: Claude Code itself, through the Claude Agent SDK, on the user's own
 * Claude login or ANTHROPIC_API_KEY (whatever the worker's environment gives Claude Code). One `query()`
 * per batch, in a process of its own that lives only for the call (docs/providers.md says why, with the
 * measurements): no tools, one turn, no thinking, no user or project settings, a short system prompt of
 * its own, and the session's bounded history as the content blocks of one user message, with the one
 * prompt-cache breakpoint the provider sets itself, so that the next batch finds this one's prefix.
 * May not: start a process except through `ChildProcesses` (which bounds, records and reaps them).
 */
import { tmpdir } from 'node:os';
import type { Options, Query, SDKMessage, SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { type Agent, AgentError, type AgentErrorKind, type AgentReply, type AgentRequest } from './agent.js';
import type { ChildProcesses } from './child-processes.js';
import { accountRefused } from './errors.js';

/** claude-mem's default model (CLAUDE_MEM_MODEL). */
export const DEFAULT_CLAUDE_MODEL = 'claude-haiku-4-5-20251001';

export const CLAUDE_SYSTEM_PROMPT = [
  'You keep the memory of a coding session that another assistant is doing for a user. You never act and have no tools:',
  'you read what it did and record it. The conversation so far comes first, your earlier replies in <previous_reply>.',
  'For each <tool_use> you are shown, write one <observation> with <type> (change, discovery, command, decision or action),',
  '<title>, <facts> (one per line), <narrative>, and <files_read> / <files_modified> when files are involved.',
  'When asked to summarize, write one <summary> with <request>, <investigated>, <learned>, <completed> and <next_steps>.',
  'For a new user prompt, acknowledge it in one short <ack>. Write only these elements, nothing around them.',
].join(' ');

export interface ClaudeAgentOptions {
  /** The pool every Claude Code process is started through (bounded, recorded, reaped). Required: no process may run outside one. */
  readonly processes: ChildProcesses;
  /** CLAUDE_MEM_MODEL; default claude-mem's, claude-haiku-4-5-20251001. */
  readonly model?: string;
  /**
   * The environment Claude Code runs with: default the worker's own, so ANTHROPIC_API_KEY,
   * ANTHROPIC_BASE_URL, a proxy or the user's login (HOME) reach it. Claude Code's own retries are off
   * (CLAUDE_CODE_MAX_RETRIES=0: the session's backoff retries, without holding an agent slot) and so is
   * its non-essential traffic, unless this environment sets them. Its own prompt-cache breakpoints are
   * always off (DISABLE_PROMPT_CACHING=1): the provider sets the one that pays (see claudeContent).
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** CLAUDE_CODE_PATH: a Claude Code executable of the user's; default the SDK's optional dependency. */
  readonly executable?: string;
  /** Working directory of Claude Code (it sees no files: no tools). Default the system's temp directory. */
  readonly cwd?: string;
  /** What Claude Code is told it is. Default CLAUDE_SYSTEM_PROMPT: an observer that answers in claude-mem's XML, with no tools. */
  readonly systemPrompt?: string;
  /** Receives what Claude Code writes on stderr (the worker logs it at debug). Default: dropped, as the SDK does. */
  readonly stderr?: (text: string) => void;
  /** Loads the SDK; default `import('@anthropic-ai/claude-agent-sdk')`, lazily, so that the other providers never load it. */
  readonly loadSdk?: () => Promise<{ query: (params: { prompt: AsyncIterable<SDKUserMessage>; options?: Options }) => Query }>;
}

export interface ClaudeBlock {
  readonly type: 'text';
  readonly text: string;
  readonly cache_control?: { readonly type: 'ephemeral' };
}

/**
 * The session's bounded history and the batch as the content blocks of one user message: one block per
 * message, replies marked as such, the batch last (unless the history already ends with it), and one
 * prompt-cache breakpoint (Claude Code's own are turned off: DISABLE_PROMPT_CACHING). It goes on the
 * batch when the batch stays in the history: the next call, which repeats these blocks and adds two,
 * reads all of this one from the cache (Anthropic looks 20 blocks back from a breakpoint). It goes on the
 * block before the batch when the batch leaves the history once answered (a digest takes its place): the
 * next call reads the history up to there, and the batch, sent this once, is not written to the cache
 * (which costs 1.25× for tokens nobody reads again).
 */
export function claudeContent(request: AgentRequest): ClaudeBlock[] {
  const blocks: ClaudeBlock[] = request.history
    .filter((message) => message.content.trim() !== '')
    .map((message) => ({
      type: 'text' as const,
      text: message.role === 'assistant' ? `<previous_reply>\n${message.content}\n</previous_reply>` : message.content,
    }));
  const last = request.history.at(-1);
  if (last === undefined || last.role !== 'user' || last.content !== request.item.prompt)
    blocks.push({ type: 'text', text: request.item.prompt });
  const at = request.batchStaysInHistory === false ? blocks.length - 2 : blocks.length - 1;
  if (at >= 0) blocks[at] = { ...blocks[at]!, cache_control: { type: 'ephemeral' } };
  return blocks;
}

/** Claude Code's own error codes (SDKAssistantMessageError) as kinds; account prose pauses whatever the code. */
export function claudeErrorKind(code: string | undefined, text: string): AgentErrorKind {
  if (accountRefused(text)) return 'paused';
  switch (code) {
    case 'authentication_failed':
    case 'oauth_org_not_allowed':
    case 'account_on_hold':
    case 'verification_required':
    case 'billing_error':
    case 'cloud_credential_error':
    case 'model_not_found':
      return 'paused';
    case 'invalid_request':
    case 'max_output_tokens':
      return 'fatal';
    default:
      // rate_limit, overloaded, server_error, unknown, a crash: another attempt may do.
      return 'retryable';
  }
}

async function* oneMessage(content: ClaudeBlock[]): AsyncGenerator<SDKUserMessage> {
  yield { type: 'user', message: { role: 'user', content }, parent_tool_use_id: null };
}

export function createClaudeAgent(options: ClaudeAgentOptions): Agent {
  const model = options.model ?? DEFAULT_CLAUDE_MODEL;
  const loadSdk = options.loadSdk ?? (() => import('@anthropic-ai/claude-agent-sdk'));
  const base = options.env ?? process.env;
  const env: Record<string, string | undefined> = {
    CLAUDE_CODE_MAX_RETRIES: '0',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...base,
    CLAUDE_AGENT_SDK_CLIENT_APP: 'session-lifecycle',
    // The provider sets its own breakpoint (claudeContent); Claude Code's would also write the batch to the
    // cache when it leaves the history, and those on its system prompt are below what Anthropic caches.
    DISABLE_PROMPT_CACHING: '1',
  };
  // Started by a hook inside a Claude Code session, the worker inherits its marker; this Claude Code is not nested.
  delete env.CLAUDECODE;

  return {
    name: 'claude',
    async run(request, signal) {
      signal.throwIfAborted();
      let sdk: Awaited<ReturnType<NonNullable<ClaudeAgentOptions['loadSdk']>>>;
      try {
        sdk = await loadSdk();
      } catch (error) {
        throw new AgentError('paused', `the Claude Agent SDK cannot be loaded (${(error as Error).message}): run npm install`, undefined, {
          cause: error,
        });
      }
      const slot = await options.processes.reserve(signal);
      const controller = new AbortController();
      const onAbort = () => {
        controller.abort(signal.reason);
        slot.release();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      let query: Query | undefined;
      let stderr = '';
      try {
        query = sdk.query({
          prompt: oneMessage(claudeContent(request)),
          options: {
            model,
            tools: [],
            maxTurns: 1,
            thinking: { type: 'disabled' },
            systemPrompt: options.systemPrompt ?? CLAUDE_SYSTEM_PROMPT,
            settingSources: [],
            persistSession: false,
            cwd: options.cwd ?? tmpdir(),
            env,
            abortController: controller,
            ...(options.executable === undefined ? {} : { pathToClaudeCodeExecutable: options.executable }),
            spawnClaudeCodeProcess: (spawn) =>
              slot.spawn({
                command: spawn.command,
                args: spawn.args,
                env: spawn.env,
                ...(spawn.cwd === undefined ? {} : { cwd: spawn.cwd }),
                stderr: (text) => {
                  stderr = (stderr + text).slice(-2_000);
                  options.stderr?.(text);
                },
              }),
          },
        });
        return await readReply(query, model);
      } catch (error) {
        if (signal.aborted) throw signal.reason ?? error;
        if (error instanceof AgentError) throw error;
        throw spawnOrCrash(error, stderr, options.executable);
      } finally {
        signal.removeEventListener('abort', onAbort);
        query?.close();
        slot.release();
      }
    },
  };
}

/** Reads the query's messages up to its result: the reply and its usage, or the refusal as an AgentError. */
async function readReply(query: Query, model: string): Promise<AgentReply> {
  let errorCode: string | undefined;
  let answeredBy = model;
  let resetsAt: number | undefined;
  for await (const message of query as AsyncIterable<SDKMessage>) {
    if (message.type === 'assistant') {
      answeredBy = message.message.model ?? answeredBy;
      if (message.error !== undefined) errorCode = message.error;
    } else if (message.type === 'rate_limit_event' && message.rate_limit_info.status === 'rejected') {
      resetsAt = message.rate_limit_info.resetsAt;
    } else if (message.type === 'result') {
      if (message.subtype === 'success' && !message.is_error) {
        const usage = message.usage;
        return {
          text: message.result,
          model: answeredBy,
          usage: {
            inputTokens: usage.input_tokens ?? 0,
            outputTokens: usage.output_tokens ?? 0,
            cacheReadTokens: usage.cache_read_input_tokens ?? 0,
            cacheWriteTokens: usage.cache_creation_input_tokens ?? 0,
          },
        };
      }
      const said = message.subtype === 'success' ? message.result : [message.subtype, ...message.errors].join(': ');
      // A subscription's usage limit: rest until it resets.
      const untilReset = resetsAt === undefined ? undefined : Math.max(0, resetsAt * 1_000 - Date.now());
      const kind = untilReset === undefined ? claudeErrorKind(errorCode, said) : 'paused';
      throw new AgentError(kind, `Claude Code refused (${errorCode ?? message.subtype}): ${said.slice(0, 300)}`, untilReset);
    }
  }
  throw new AgentError('retryable', 'Claude Code ended without a result');
}

/** A failure before or outside the conversation: Claude Code missing, not executable, or crashed. */
function spawnOrCrash(error: unknown, stderr: string, executable: string | undefined): AgentError {
  const message = error instanceof Error ? error.message : String(error);
  // 127: the shell's and setpriv's "could not execute" (the binary is missing or not executable).
  const notStarted = (error as { exitCode?: unknown }).exitCode === 127 || /failed to execute|No such file/i.test(stderr);
  if (notStarted || /ENOENT|EACCES|not found|native binary|Could not find/i.test(message)) {
    const where =
      executable === undefined ? 'the optional dependency @anthropic-ai/claude-agent-sdk-<platform>' : `CLAUDE_CODE_PATH (${executable})`;
    return new AgentError(
      'paused',
      `Claude Code cannot be started (${message.slice(0, 200)}): check ${where}; a dependency installed with --omit=optional lacks it`,
      undefined,
      { cause: error },
    );
  }
  const tail = stderr.trim() === '' ? '' : `; stderr: ${stderr.trim().slice(-300)}`;
  return new AgentError('retryable', `Claude Code failed: ${message.slice(0, 300)}${tail}`, undefined, { cause: error });
}
