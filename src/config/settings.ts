/**
 * The key table: every setting the worker reads, as data. Each entry has its default, its bounds (from
 * which both the validator and the wording of "allowed" are derived), a description, and whether the
 * design card (SPEC §7) names it. `loadConfig` parses with it; docs/configuration.md is generated from it.
 * May not: read files or the environment (see load.ts).
 */
import { z } from 'zod';
import {
  DEFAULT_BATCH_QUIET_MS,
  DEFAULT_MAX_BATCH_ITEMS,
  DEFAULT_SESSION_SETTINGS,
  DEFAULT_WORKER_BATCH_WINDOW_MS,
} from '../../machines/session.machine.js';
import { MAX_TIMER_MS } from '../clock/index.js';
import { DEFAULT_PROCESS_OPTIONS, DEFAULT_SESSION_OPTIONS } from '../engine/index.js';
import { DEFAULT_HISTORY_LOW_WATER } from '../history/index.js';

export const DEFAULT_SKIP_TOOLS = ['ListMcpResourcesTool', 'SlashCommand', 'Skill', 'TodoWrite', 'AskUserQuestion'];
export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:7777';

/**
 * The worker's default port, by claude-mem's rule since 12.3.5 (its hooks call it unless
 * CLAUDE_MEM_WORKER_PORT says otherwise): 37700 + the user id modulo 100, so that two accounts on one
 * machine get two workers; 37777 (claude-mem 8.5.x's fixed port) where there is no user id (Windows).
 */
export function claudeMemDefaultPort(uid: number | undefined): number {
  return 37_700 + ((uid ?? 77) % 100);
}

/** The providers CLAUDE_MEM_PROVIDER and CLAUDE_MEM_FALLBACK_PROVIDERS name (claude-mem's spelling). */
export const PROVIDERS = ['local', 'claude', 'gemini', 'openrouter', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDERS)[number];
const PROVIDERS_ALLOWED = '`local`, `claude`, `gemini`, `openrouter` or `openai-compatible`';

export interface Setting<T> {
  readonly default: string;
  /** The default as the docs show it, when it depends on the machine (the port). */
  readonly shownDefault?: string;
  /** What the key accepts, as an error message says it. */
  readonly allowed: string;
  readonly schema: z.ZodType<T, string>;
  readonly description: string;
  /** Named by the design card (SPEC §7); the others are this worker's own additions. */
  readonly inSpec: boolean;
}

interface Common {
  readonly default: string;
  readonly shownDefault?: string;
  readonly description: string;
  readonly inSpec?: boolean;
}

const trimmed = z.string().trim();
const optionalText = trimmed.transform((value) => (value === '' ? undefined : value));

/** An integer within [min, max]. */
function integer(spec: Common & { readonly min: number; readonly max: number; readonly note?: string }): Setting<number> {
  const allowed = `an integer from ${spec.min} to ${spec.max}${spec.note === undefined ? '' : ` (${spec.note})`}`;
  const schema = trimmed.regex(/^\d+$/, allowed).transform(Number).pipe(z.number().int().min(spec.min, allowed).max(spec.max, allowed));
  return {
    default: spec.default,
    ...(spec.shownDefault === undefined ? {} : { shownDefault: spec.shownDefault }),
    allowed,
    schema,
    description: spec.description,
    inSpec: spec.inSpec ?? false,
  };
}

/**
 * A decimal number of `unit` within its bounds: `above` min (exclusive) or `from` min (inclusive), up to
 * max. `shownMax` is the bound as people read it, when max itself is a long fraction.
 */
function decimal(
  spec: Common & {
    readonly what: string;
    readonly min: number;
    readonly max: number;
    readonly exclusiveMin?: boolean;
    readonly shownMax?: number;
    readonly note?: string;
    readonly allowed?: string;
  },
): Setting<number> {
  const shownMax = spec.shownMax ?? spec.max;
  const range = spec.exclusiveMin ? `above ${spec.min} and at most ${shownMax}` : `from ${spec.min} to ${shownMax}`;
  const allowed = spec.allowed ?? `${spec.what} ${range}${spec.note === undefined ? '' : ` (${spec.note})`}`;
  const bounded = (spec.exclusiveMin ? z.number().gt(spec.min, allowed) : z.number().min(spec.min, allowed)).max(spec.max, allowed);
  const schema = trimmed
    .regex(/^-?\d+(\.\d+)?$/, allowed)
    .transform(Number)
    .pipe(bounded);
  return { default: spec.default, allowed, schema, description: spec.description, inSpec: spec.inSpec ?? false };
}

/** Any other value: its own schema and wording. */
function custom<T>(spec: Common & { readonly allowed: string; readonly schema: z.ZodType<T, string> }): Setting<T> {
  return { default: spec.default, allowed: spec.allowed, schema: spec.schema, description: spec.description, inSpec: spec.inSpec ?? false };
}

/** An optional http(s) URL, without its trailing slashes. */
const httpUrl = (allowed: string) =>
  optionalText.pipe(
    z
      .url({ protocol: /^https?$/, error: allowed })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
  );

/** Optional text without whitespace (keys, model names). */
const noSpaces = (allowed: string) => optionalText.pipe(z.string().regex(/^\S+$/, allowed).optional());

export const SETTINGS = {
  CLAUDE_MEM_WORKER_PORT: integer({
    default: String(claudeMemDefaultPort(process.getuid?.())),
    shownDefault: '`37700 + uid % 100` (`37777` without a uid)',
    min: 0,
    max: 65_535,
    note: '0 picks a free port',
    description:
      'TCP port of the worker. The default is claude-mem’s own rule (since 12.3.5), so its hooks find the worker with no setting; claude-mem 8.5.x hooks call 37777 unless this key is set (see docs/operations.md).',
    inSpec: true,
  }),
  CLAUDE_MEM_WORKER_HOST: custom({
    default: '127.0.0.1',
    allowed: 'a host name or IP address to bind, such as 127.0.0.1',
    schema: trimmed.regex(/^[A-Za-z0-9.:\-[\]]+$/, 'a host name or IP address to bind, such as 127.0.0.1'),
    description: 'Address the worker binds. Anything but loopback also requires CLAUDE_MEM_WORKER_TOKEN.',
    inSpec: true,
  }),
  CLAUDE_MEM_SESSION_TTL_MINUTES: decimal({
    default: String(DEFAULT_SESSION_SETTINGS.idleTtlMs / 60_000),
    what: 'a number of minutes',
    min: 0,
    exclusiveMin: true,
    max: MAX_TIMER_MS / 60_000,
    shownMax: Math.floor(MAX_TIMER_MS / 60_000),
    note: 'decimals allowed',
    description: 'Idle time before a session starts expiring.',
    inSpec: true,
  }),
  CLAUDE_MEM_SESSION_GRACE_SECONDS: decimal({
    default: String(DEFAULT_SESSION_SETTINGS.graceMs / 1_000),
    what: 'a number of seconds',
    min: 0,
    max: MAX_TIMER_MS / 1_000,
    shownMax: Math.floor(MAX_TIMER_MS / 1_000),
    description: 'Time from `expiring` to `disposed`, during which new work revives the session.',
    inSpec: true,
  }),
  CLAUDE_MEM_MAX_CONVERSATION_HISTORY: integer({
    default: String(DEFAULT_SESSION_SETTINGS.maxHistoryMessages),
    min: 2,
    max: 100_000,
    description: 'Messages kept in a session’s history (the init prompt, pinned, counts as one).',
    inSpec: true,
  }),
  CLAUDE_MEM_MAX_CONVERSATION_TOKENS: integer({
    default: String(DEFAULT_SESSION_SETTINGS.maxHistoryTokens),
    min: 100,
    max: 100_000_000,
    description: 'Estimated tokens kept in a session’s history (estimate: characters / 4).',
    inSpec: true,
  }),
  CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: decimal({
    default: String(DEFAULT_HISTORY_LOW_WATER * 100),
    what: 'a percentage',
    min: 0,
    exclusiveMin: true,
    max: 100,
    note: '100 cuts only to the bounds',
    description:
      'When an append takes a session’s history over CLAUDE_MEM_MAX_CONVERSATION_HISTORY or CLAUDE_MEM_MAX_CONVERSATION_TOKENS, the oldest messages go until it holds this percentage of both; until it goes over again, its agent calls repeat each other’s prefix, which the provider’s prompt cache bills at about a tenth. 100 slides a full window by one message per append, which no prompt cache can serve.',
  }),
  CLAUDE_MEM_MAX_ACTIVE_SESSIONS: integer({
    default: String(DEFAULT_PROCESS_OPTIONS.maxActiveSessions),
    min: 1,
    max: 10_000_000,
    description: 'Live sessions; beyond it the least recently active idle one is evicted, or new ones get 503.',
    inSpec: true,
  }),
  CLAUDE_MEM_MAX_CONCURRENT_AGENTS: integer({
    default: String(DEFAULT_SESSION_OPTIONS.maxConcurrentAgents),
    min: 1,
    max: 1_000,
    description: 'Agent calls in flight at once, across all sessions.',
    inSpec: true,
  }),
  CLAUDE_MEM_MAX_BATCH_ITEMS: integer({
    default: String(DEFAULT_MAX_BATCH_ITEMS),
    min: 1,
    max: 1_000,
    note: '1 sends every item alone',
    description:
      'Most queued observations one agent call answers: a session’s queued observations go to its agent together, in one call, answered by one reply (a prompt or a summarize always goes alone). A batch also stays within a quarter of CLAUDE_MEM_MAX_CONVERSATION_TOKENS.',
  }),
  CLAUDE_MEM_BATCH_WINDOW_SECONDS: decimal({
    default: String(DEFAULT_WORKER_BATCH_WINDOW_MS / 1_000),
    what: 'a number of seconds',
    min: 0,
    max: MAX_TIMER_MS / 1_000,
    shownMax: Math.floor(MAX_TIMER_MS / 1_000),
    note: '0 sends what is queued as soon as a slot is free',
    description:
      'How long a session’s observations may gather before its agent is called, counted from the first of them: the tool uses of a burst are then answered by one call, which reads the history once instead of once per tool use (in the cost benchmark, 65 calls instead of 359 for 500 tool uses). The batch goes sooner when it is full (CLAUDE_MEM_MAX_BATCH_ITEMS), when a prompt or a summarize follows it, when the session ends, or when the burst goes quiet (CLAUDE_MEM_BATCH_QUIET_SECONDS); prompts and summaries never wait. So no memory is later than this, plus the call.',
  }),
  CLAUDE_MEM_BATCH_QUIET_SECONDS: decimal({
    default: String(DEFAULT_BATCH_QUIET_MS / 1_000),
    what: 'a number of seconds',
    min: 0,
    max: MAX_TIMER_MS / 1_000,
    shownMax: Math.floor(MAX_TIMER_MS / 1_000),
    description:
      'A gathering batch of observations (CLAUDE_MEM_BATCH_WINDOW_SECONDS) goes once no tool use has come for this long: longer than the few seconds between the tool uses of one turn, so that a turn’s tool uses gather.',
  }),
  CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS: custom({
    default: 'true',
    allowed: '`true` or `false`',
    schema: trimmed.pipe(z.enum(['true', 'false'], '`true` or `false`')).transform((value) => value === 'true'),
    description:
      'Once a batch of observations is answered, its tool inputs and outputs leave the session’s history, replaced by a one-line digest; the reply (what the agent observed of them) stays. So no tool output is sent, or paid for, twice, and the history bound holds many more batches of observations (in the cost benchmark, $2.53 instead of $3.39 per 1,000 observations with the prompt cache). `false` keeps every message whole until the bound cuts it.',
  }),
  CLAUDE_MEM_MAX_QUEUED_ITEMS: integer({
    default: String(DEFAULT_SESSION_OPTIONS.maxQueuedItems),
    min: 1,
    max: 1_000_000,
    description: 'Unprocessed items one session may hold (its provider may be paused); more get 503 until it drains.',
  }),
  CLAUDE_MEM_MEMORY_LIMIT_PERCENT: decimal({
    default: String(DEFAULT_PROCESS_OPTIONS.memoryLimitPercent),
    what: 'a percentage',
    min: 0,
    exclusiveMin: true,
    max: 100,
    description: 'Heap use (of the V8 heap limit) above which idle sessions are shed.',
    inSpec: true,
  }),
  CLAUDE_MEM_MEMORY_TARGET_PERCENT: decimal({
    default: String(DEFAULT_PROCESS_OPTIONS.memoryTargetPercent),
    what: 'a percentage',
    min: 0,
    exclusiveMin: true,
    max: 100,
    allowed: 'a percentage above 0, below CLAUDE_MEM_MEMORY_LIMIT_PERCENT',
    description: 'Heap use that shedding aims for.',
    inSpec: true,
  }),
  CLAUDE_MEM_PROVIDER: custom({
    default: 'local',
    allowed: PROVIDERS_ALLOWED,
    schema: trimmed.pipe(z.enum(PROVIDERS, PROVIDERS_ALLOWED)),
    description:
      '`local`: offline and deterministic. `claude`: Claude Code through the Claude Agent SDK, on your Claude login or ANTHROPIC_API_KEY (claude-mem’s default). `gemini`: the Gemini API. `openrouter`: OpenRouter. `openai-compatible`: any /chat/completions endpoint.',
    inSpec: true,
  }),
  CLAUDE_MEM_FALLBACK_PROVIDERS: custom({
    default: '',
    allowed: `a comma-separated list of providers (${PROVIDERS.join(', ')}), each once, or nothing`,
    schema: z
      .string()
      .transform((list) =>
        list
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.enum(PROVIDERS, `a comma-separated list of providers (${PROVIDERS.join(', ')}), each once, or nothing`))
          .refine(
            (names) => new Set(names).size === names.length,
            `a comma-separated list of providers (${PROVIDERS.join(', ')}), each once, or nothing`,
          ),
      ),
    description:
      'Providers that take a batch the current one refuses (auth, billing, quota; or still failing on the batch’s last attempt), in order, with the same bounded history. The refusing provider rests (1 min, doubling, up to 30 min, or its Retry-After) and is then tried first again. Example: `gemini,openrouter` behind `claude`.',
    inSpec: true,
  }),
  CLAUDE_MEM_OPENAI_BASE_URL: custom({
    default: '',
    allowed: 'an http(s) URL such as https://openrouter.ai/api/v1 or http://127.0.0.1:11434/v1',
    schema: optionalText.pipe(
      z
        .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://openrouter.ai/api/v1 or http://127.0.0.1:11434/v1' })
        .transform((url) => url.replace(/\/+$/, ''))
        .optional(),
    ),
    description: 'Base URL of the OpenAI-compatible API (`/chat/completions` is appended).',
    inSpec: true,
  }),
  CLAUDE_MEM_OPENAI_API_KEY: custom({
    default: '',
    allowed: 'a key without spaces or line breaks',
    schema: noSpaces('a key without spaces or line breaks'),
    description: 'Bearer key for the OpenAI-compatible API (not needed by Ollama or llama.cpp).',
    inSpec: true,
  }),
  CLAUDE_MEM_MODEL: custom({
    default: 'claude-haiku-4-5-20251001',
    allowed: 'a model name such as claude-haiku-4-5-20251001, haiku or llama3.1, without spaces',
    schema: noSpaces('a model name such as claude-haiku-4-5-20251001, haiku or llama3.1, without spaces'),
    description:
      'The `claude` provider’s model (claude-mem’s key and default; aliases such as `haiku` work). Also the `openai-compatible` model when set here and CLAUDE_MEM_OPENAI_MODEL is not.',
    inSpec: true,
  }),
  CLAUDE_MEM_OPENAI_MODEL: custom({
    default: '',
    allowed: 'a model name such as gpt-4o-mini or llama3.1, without spaces',
    schema: noSpaces('a model name such as gpt-4o-mini or llama3.1, without spaces'),
    description: 'Model of the `openai-compatible` provider; without it, CLAUDE_MEM_MODEL when that is set (one of them is required).',
  }),
  CLAUDE_MEM_CLAUDE_AUTH_METHOD: custom({
    default: 'subscription',
    allowed: '`subscription`, `api-key`, `gateway` or `cli`',
    schema: trimmed.pipe(z.enum(['subscription', 'api-key', 'gateway', 'cli'], '`subscription`, `api-key`, `gateway` or `cli`')),
    description:
      'How the `claude` provider signs in (claude-mem’s key and values). `subscription` or `cli`: your Claude login; ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN of the worker’s environment are withheld from Claude Code, so a key exported for something else is never billed. `api-key`: ANTHROPIC_API_KEY from the environment. `gateway`: the environment as it is (ANTHROPIC_BASE_URL and its token).',
  }),
  CLAUDE_CODE_PATH: custom({
    default: '',
    allowed: 'the absolute path (or ~/…) of a Claude Code executable, or nothing',
    schema: optionalText.pipe(
      z
        .string()
        .regex(/^(\/|~\/)\S/, 'the absolute path (or ~/…) of a Claude Code executable, or nothing')
        .optional(),
    ),
    description:
      'A Claude Code executable for the `claude` provider (claude-mem’s key). Default: the one the Claude Agent SDK installs as its optional dependency.',
  }),
  CLAUDE_MEM_GEMINI_API_KEY: custom({
    default: '',
    allowed: 'a key without spaces or line breaks',
    schema: noSpaces('a key without spaces or line breaks'),
    description: 'Gemini API key (claude-mem’s key); required when `gemini` is the provider or a fallback.',
  }),
  CLAUDE_MEM_GEMINI_MODEL: custom({
    default: 'gemini-flash-latest',
    allowed: 'a Gemini model name such as gemini-flash-latest or gemini-2.5-flash, without spaces',
    schema: noSpaces('a Gemini model name such as gemini-flash-latest or gemini-2.5-flash, without spaces'),
    description: 'Model of the `gemini` provider (claude-mem’s key and default).',
  }),
  CLAUDE_MEM_GEMINI_BASE_URL: custom({
    default: '',
    allowed: 'an http(s) URL, or nothing',
    schema: httpUrl('an http(s) URL, or nothing'),
    description: 'Address of the Gemini API; default Google’s (a proxy, or a fake in tests).',
  }),
  CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED: custom({
    default: 'true',
    allowed: '`true` or `false`',
    schema: trimmed.pipe(z.enum(['true', 'false'], '`true` or `false`')).transform((value) => value === 'true'),
    description:
      'Accepted as claude-mem writes it. Calls are paced anyway: batches make few of them, and a 429 rests the queue for the `retryDelay` Google asks for.',
  }),
  CLAUDE_MEM_OPENROUTER_API_KEY: custom({
    default: '',
    allowed: 'a key without spaces or line breaks',
    schema: noSpaces('a key without spaces or line breaks'),
    description:
      'OpenRouter API key (claude-mem’s key); required when `openrouter` is the provider or a fallback, unless CLAUDE_MEM_OPENROUTER_BASE_URL points elsewhere.',
  }),
  CLAUDE_MEM_OPENROUTER_MODEL: custom({
    default: 'xiaomi/mimo-v2-flash:free',
    allowed: 'an OpenRouter model id such as anthropic/claude-haiku-4.5, without spaces',
    schema: noSpaces('an OpenRouter model id such as anthropic/claude-haiku-4.5, without spaces'),
    description: 'Model of the `openrouter` provider (claude-mem’s key and default).',
  }),
  CLAUDE_MEM_OPENROUTER_BASE_URL: custom({
    default: '',
    allowed: 'an http(s) URL such as https://api.deepseek.com/v1, or nothing',
    schema: httpUrl('an http(s) URL such as https://api.deepseek.com/v1, or nothing'),
    description:
      'Another chat-completions endpoint for the `openrouter` provider (claude-mem’s key); default https://openrouter.ai/api/v1.',
  }),
  CLAUDE_MEM_OPENROUTER_SITE_URL: custom({
    default: '',
    allowed: 'an http(s) URL, or nothing',
    schema: httpUrl('an http(s) URL, or nothing'),
    description: 'Sent to OpenRouter as HTTP-Referer, for its app attribution (claude-mem’s key).',
  }),
  CLAUDE_MEM_OPENROUTER_APP_NAME: custom({
    default: 'claude-mem',
    allowed: 'a name of at most 100 characters on one line, or nothing',
    schema: optionalText.pipe(
      z
        .string()
        .regex(/^[^\r\n]{1,100}$/, 'a name of at most 100 characters on one line, or nothing')
        .optional(),
    ),
    description: 'Sent to OpenRouter as X-Title, for its app attribution (claude-mem’s key and default).',
  }),
  CLAUDE_MEM_SKIP_TOOLS: custom({
    default: DEFAULT_SKIP_TOOLS.join(','),
    allowed: 'a comma-separated list of tool names (letters, digits, _ . : -), or nothing',
    schema: z
      .string()
      .regex(/^[\sA-Za-z0-9_.:,-]*$/, 'a comma-separated list of tool names (letters, digits, _ . : -), or nothing')
      .transform((list) =>
        list
          .split(',')
          .map((tool) => tool.trim())
          .filter(Boolean),
      ),
    description: 'Tool uses that are answered `skipped` instead of queued.',
    inSpec: true,
  }),
  CLAUDE_MEM_DATA_DIR: custom({
    default: '~/.claude-mem',
    allowed: 'a directory path',
    schema: trimmed.min(1, 'a directory path'),
    description: 'Holds settings.json and the event log, session-events.db.',
    inSpec: true,
  }),
  CLAUDE_MEM_WORKER_BODY_LIMIT_MB: decimal({
    default: '10',
    what: 'a number of megabytes',
    min: 0,
    exclusiveMin: true,
    max: 1_024,
    description: 'Request bodies over this get 413.',
    inSpec: true,
  }),
  CLAUDE_MEM_WORKER_TOKEN: custom({
    default: '',
    allowed: 'at least 16 characters, no spaces',
    schema: optionalText.pipe(
      z
        .string()
        .regex(/^\S{16,}$/, 'at least 16 characters, no spaces')
        .optional(),
    ),
    description: 'When set, every route but readiness and health needs `Authorization: Bearer <token>`.',
    inSpec: true,
  }),
  CLAUDE_MEM_AGENT_TIMEOUT_SECONDS: decimal({
    default: String(DEFAULT_SESSION_SETTINGS.agentTimeoutMs / 1_000),
    what: 'a number of seconds',
    min: 0,
    exclusiveMin: true,
    max: MAX_TIMER_MS / 1_000,
    shownMax: Math.floor(MAX_TIMER_MS / 1_000),
    description: 'An agent call that takes longer is aborted and retried with backoff.',
  }),
  CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS: decimal({
    default: '10',
    what: 'a number of seconds',
    min: 0,
    max: 600,
    description: 'On SIGINT/SIGTERM, how long in-flight agent calls may finish before they are aborted.',
  }),
  CLAUDE_MEM_EVENT_RETENTION_HOURS: decimal({
    default: String(DEFAULT_SESSION_OPTIONS.retentionMs / 3_600_000),
    what: 'a number of hours',
    min: 0,
    max: 100_000,
    description: 'How long a disposed session’s events are kept before compaction to a summary row.',
  }),
  CLAUDE_MEM_CONTEXT_OBSERVATIONS: integer({
    default: '50',
    min: 0,
    max: 10_000,
    description:
      'Newest observations of the project that `GET /api/context/inject` (a session’s start) shows, within CLAUDE_MEM_CONTEXT_MAX_TOKENS (claude-mem’s setting).',
  }),
  CLAUDE_MEM_CONTEXT_SESSION_COUNT: integer({
    default: '10',
    min: 0,
    max: 1_000,
    description:
      'Sessions whose latest summary `GET /api/context/inject` shows, newest first (claude-mem’s setting: a session summarized at every turn counts once).',
  }),
  CLAUDE_MEM_CONTEXT_MAX_TOKENS: integer({
    default: '8000',
    min: 100,
    max: 1_000_000,
    description:
      'Estimated tokens (characters / 4) of the text `GET /api/context/inject` answers at most: summaries first, then observations, newest first, until it is spent. Claude Code adds it to the session’s first prompt.',
  }),
  CLAUDE_MEM_MEMORY_RETENTION_DAYS: decimal({
    default: '0',
    what: 'a number of days',
    min: 0,
    max: 100_000,
    note: '0 keeps them until deleted',
    description:
      'How long memories (observations and summaries) are kept; older ones are deleted once an hour. 0: until the user deletes them (`DELETE /api/memories/…`).',
  }),
  CLAUDE_MEM_SNAPSHOT_EVERY: integer({
    default: String(DEFAULT_PROCESS_OPTIONS.snapshotEvery),
    min: 1,
    max: 1_000_000,
    description: 'A session snapshot is logged every this many of its events, and when it goes dormant (recovery replays only the tail).',
  }),
  CLAUDE_MEM_INSPECT: custom({
    default: '',
    allowed: '`true` (the relay at ws://127.0.0.1:7777), `false`, or a ws:// URL',
    schema: optionalText.pipe(
      z
        .union([z.enum(['true', 'false', '1', '0']), z.url({ protocol: /^wss?$/ })], {
          error: '`true` (the relay at ws://127.0.0.1:7777), `false`, or a ws:// URL',
        })
        .transform((value) =>
          value === 'true' || value === '1' ? DEFAULT_INSPECTOR_URL : value === 'false' || value === '0' ? undefined : value,
        )
        .optional(),
    ),
    description: 'Streams every session actor to a @statelyai/inspect relay (see docs/operations.md).',
  }),
  CLAUDE_MEM_ENGINE: custom({
    default: 'embedded',
    allowed: '`embedded` or `restate`',
    schema: z.enum(['embedded', 'restate'], '`embedded` or `restate`'),
    description:
      'What runs the sessions. `embedded`: this process, with its SQLite log (one worker per data directory). `restate`: a Restate cluster reached at CLAUDE_MEM_RESTATE_INGRESS_URL; several workers may front it (see docs/scale-out.md).',
  }),
  CLAUDE_MEM_RESTATE_INGRESS_URL: custom({
    default: '',
    allowed: 'an http(s) URL of a Restate ingress, such as http://127.0.0.1:8080',
    schema: httpUrl('an http(s) URL of a Restate ingress, such as http://127.0.0.1:8080'),
    description: 'With `CLAUDE_MEM_ENGINE=restate`: the ingress of any node of the Restate cluster (required).',
  }),
  CLAUDE_MEM_RESTATE_CALL_TIMEOUT_SECONDS: decimal({
    default: '20',
    what: 'a number of seconds',
    min: 0,
    exclusiveMin: true,
    max: 3_600,
    description:
      'With `CLAUDE_MEM_ENGINE=restate`: how long a command keeps trying Restate (a lost answer or an unreachable node is retried with the same idempotency key) before the worker answers 503.',
  }),
  CLAUDE_MEM_RESTATE_ADMIN_URL: custom({
    default: '',
    allowed: 'an http(s) URL of a Restate admin API, such as http://127.0.0.1:9070, or nothing',
    schema: httpUrl('an http(s) URL of a Restate admin API, such as http://127.0.0.1:9070, or nothing'),
    description:
      'With `CLAUDE_MEM_ENGINE=restate`: when set, the worker also serves the session services (the agent calls run in it) and registers them with this admin API. Unset: it only fronts the cluster, and service processes run elsewhere.',
  }),
  CLAUDE_MEM_RESTATE_SERVICE_PORT: integer({
    default: '9080',
    min: 0,
    max: 65_535,
    note: '0 picks a free port',
    description: 'With CLAUDE_MEM_RESTATE_ADMIN_URL: port on which the worker serves the session services to Restate (HTTP/2).',
  }),
  CLAUDE_MEM_RESTATE_SERVICE_HOST: custom({
    default: '127.0.0.1',
    allowed: 'a host name or IP address to bind, such as 127.0.0.1',
    schema: trimmed.regex(/^[A-Za-z0-9.:\-[\]]+$/, 'a host name or IP address to bind, such as 127.0.0.1'),
    description: 'With CLAUDE_MEM_RESTATE_ADMIN_URL: address the session services bind (Restate must reach it).',
  }),
  CLAUDE_MEM_RESTATE_ADVERTISED_URL: custom({
    default: '',
    allowed: 'an http(s) URL at which Restate reaches the session services, or nothing',
    schema: httpUrl('an http(s) URL at which Restate reaches the session services, or nothing'),
    description:
      'With CLAUDE_MEM_RESTATE_ADMIN_URL: the URL registered with Restate (a load balancer in front of several workers); default `http://<service host>:<service port>`.',
  }),
  CLAUDE_MEM_POSTGRES_URL: custom({
    default: '',
    allowed: 'a postgres:// or postgresql:// URL such as postgresql://user:password@db.internal:5432/memories, or nothing',
    schema: optionalText.pipe(
      z
        .url({
          protocol: /^postgres(ql)?$/,
          hostname: /^.+$/,
          error: 'a postgres:// or postgresql:// URL such as postgresql://user:password@db.internal:5432/memories, or nothing',
        })
        .optional(),
    ),
    description:
      'With `CLAUDE_MEM_ENGINE=restate`: the PostgreSQL database that keeps the memories (observations and summaries), shared by every worker (which reads it: context, by-file, search) and every service process (which writes each reply’s memories once). Its tables are created at the first start. Unset: on Restate nothing is remembered (the hooks get empty answers, the other memory routes 501). Not used by the embedded engine, whose memories live in its SQLite log. See docs/scale-out.md.',
  }),
  CLAUDE_MEM_LOG_LEVEL: custom({
    default: 'info',
    allowed: 'fatal, error, warn, info, debug, trace or silent, in any case (claude-mem writes INFO)',
    schema: trimmed
      .toLowerCase()
      .transform((level) => (level === 'warning' ? 'warn' : level))
      .pipe(
        z.enum(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          'fatal, error, warn, info, debug, trace or silent, in any case (claude-mem writes INFO)',
        ),
      ),
    description:
      'Verbosity of the worker’s pino log (JSON on stdout). claude-mem’s values (`DEBUG`, `INFO`, `WARN`, `ERROR`, `SILENT`) mean the same.',
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];
export type SettingValue<K extends SettingKey> = z.output<(typeof SETTINGS)[K]['schema']>;
