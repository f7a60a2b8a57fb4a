import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';

/** setTimeout's ceiling, in ms: durations beyond it would fire after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

export const DEFAULT_SKIP_TOOLS = ['ListMcpResourcesTool', 'SlashCommand', 'Skill', 'TodoWrite', 'AskUserQuestion'];

export type ProviderName = 'local' | 'openai-compatible';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The worker's configuration, resolved from defaults, settings.json and the environment. */
export interface WorkerConfig {
  readonly port: number;
  readonly host: string;
  readonly sessionTtlMs: number;
  readonly graceMs: number;
  readonly maxConversationHistory: number;
  readonly maxConversationTokens: number;
  readonly maxActiveSessions: number;
  readonly maxConcurrentAgents: number;
  readonly maxQueuedItems: number;
  readonly memoryLimitPercent: number;
  readonly memoryTargetPercent: number;
  readonly provider: ProviderName;
  readonly openaiBaseUrl: string | undefined;
  readonly openaiApiKey: string | undefined;
  readonly model: string | undefined;
  readonly skipTools: readonly string[];
  readonly dataDir: string;
  readonly bodyLimitBytes: number;
  readonly token: string | undefined;
  readonly agentTimeoutMs: number;
  readonly shutdownDrainMs: number;
  readonly eventRetentionMs: number;
  readonly snapshotEvery: number;
  /** A websocket relay to stream every session actor to (@statelyai/inspect), or undefined. */
  readonly inspectUrl: string | undefined;
  readonly logLevel: LogLevel;
  /** Where each value came from, by key: `default`, the settings file, or `environment`. */
  readonly sources: Readonly<Record<SettingKey, string>>;
  readonly settingsFile: string;
}

const trimmed = z.string().trim();
const number = (allowed: string) => trimmed.regex(/^-?\d+(\.\d+)?$/, allowed).transform(Number);
const integer = (min: number, max: number, allowed: string) =>
  trimmed.regex(/^\d+$/, allowed).transform(Number).pipe(z.number().int().min(min, allowed).max(max, allowed));
const decimal = (min: number, max: number, allowed: string, exclusiveMin = false) =>
  number(allowed).pipe((exclusiveMin ? z.number().gt(min, allowed) : z.number().min(min, allowed)).max(max, allowed));
const optionalText = trimmed.transform((value) => (value === '' ? undefined : value));

interface Setting<T> {
  readonly default: string;
  /** What the key accepts, as the error message says it. */
  readonly allowed: string;
  readonly schema: z.ZodType<T, string>;
  readonly description: string;
}

const setting = <T>(spec: Setting<T>) => spec;

/** Every key of SPEC §7, plus the worker's own extensions (documented in docs/configuration.md). */
export const SETTINGS = {
  CLAUDE_MEM_WORKER_PORT: setting({
    default: '37777',
    allowed: 'an integer from 0 to 65535 (0 picks a free port)',
    schema: integer(0, 65_535, 'an integer from 0 to 65535 (0 picks a free port)'),
    description: 'TCP port of the worker.',
  }),
  CLAUDE_MEM_WORKER_HOST: setting({
    default: '127.0.0.1',
    allowed: 'a host name or IP address to bind, such as 127.0.0.1',
    schema: trimmed.regex(/^[A-Za-z0-9.:\-[\]]+$/, 'a host name or IP address to bind, such as 127.0.0.1'),
    description: 'Address the worker binds. Anything but loopback also requires CLAUDE_MEM_WORKER_TOKEN.',
  }),
  CLAUDE_MEM_SESSION_TTL_MINUTES: setting({
    default: '60',
    allowed: `a number of minutes above 0 and at most ${Math.floor(MAX_TIMER_MS / 60_000)} (decimals allowed)`,
    schema: decimal(
      0,
      MAX_TIMER_MS / 60_000,
      `a number of minutes above 0 and at most ${Math.floor(MAX_TIMER_MS / 60_000)} (decimals allowed)`,
      true,
    ),
    description: 'Idle time before a session starts expiring.',
  }),
  CLAUDE_MEM_SESSION_GRACE_SECONDS: setting({
    default: '30',
    allowed: `a number of seconds from 0 to ${Math.floor(MAX_TIMER_MS / 1_000)}`,
    schema: decimal(0, MAX_TIMER_MS / 1_000, `a number of seconds from 0 to ${Math.floor(MAX_TIMER_MS / 1_000)}`),
    description: 'Time from `expiring` to `disposed`, during which new work revives the session.',
  }),
  CLAUDE_MEM_MAX_CONVERSATION_HISTORY: setting({
    default: '50',
    allowed: 'an integer from 2 to 100000',
    schema: integer(2, 100_000, 'an integer from 2 to 100000'),
    description: 'Messages kept in a session’s history (the init prompt, pinned, counts as one).',
  }),
  CLAUDE_MEM_MAX_CONVERSATION_TOKENS: setting({
    default: '100000',
    allowed: 'an integer from 100 to 100000000',
    schema: integer(100, 100_000_000, 'an integer from 100 to 100000000'),
    description: 'Estimated tokens kept in a session’s history (estimate: characters / 4).',
  }),
  CLAUDE_MEM_MAX_ACTIVE_SESSIONS: setting({
    default: '100',
    allowed: 'an integer from 1 to 10000000',
    schema: integer(1, 10_000_000, 'an integer from 1 to 10000000'),
    description: 'Live sessions; beyond it the least recently active idle one is evicted, or new ones get 503.',
  }),
  CLAUDE_MEM_MAX_CONCURRENT_AGENTS: setting({
    default: '2',
    allowed: 'an integer from 1 to 1000',
    schema: integer(1, 1_000, 'an integer from 1 to 1000'),
    description: 'Agent calls in flight at once, across all sessions.',
  }),
  CLAUDE_MEM_MAX_QUEUED_ITEMS: setting({
    default: '1000',
    allowed: 'an integer from 1 to 1000000',
    schema: integer(1, 1_000_000, 'an integer from 1 to 1000000'),
    description: 'Unprocessed items one session may hold (its provider may be paused); more get 503 until it drains.',
  }),
  CLAUDE_MEM_MEMORY_LIMIT_PERCENT: setting({
    default: '80',
    allowed: 'a percentage above 0 and at most 100',
    schema: decimal(0, 100, 'a percentage above 0 and at most 100', true),
    description: 'Heap use (of the V8 heap limit) above which idle sessions are shed.',
  }),
  CLAUDE_MEM_MEMORY_TARGET_PERCENT: setting({
    default: '75',
    allowed: 'a percentage above 0, below CLAUDE_MEM_MEMORY_LIMIT_PERCENT',
    schema: decimal(0, 100, 'a percentage above 0, below CLAUDE_MEM_MEMORY_LIMIT_PERCENT', true),
    description: 'Heap use that shedding aims for.',
  }),
  CLAUDE_MEM_PROVIDER: setting({
    default: 'local',
    allowed: '`local` or `openai-compatible`',
    schema: z.enum(['local', 'openai-compatible'], '`local` or `openai-compatible`'),
    description: '`local`: offline and deterministic. `openai-compatible`: any /chat/completions endpoint.',
  }),
  CLAUDE_MEM_OPENAI_BASE_URL: setting({
    default: '',
    allowed: 'an http(s) URL such as https://openrouter.ai/api/v1 or http://127.0.0.1:11434/v1',
    schema: optionalText.pipe(
      z
        .url({ protocol: /^https?$/, error: 'an http(s) URL such as https://openrouter.ai/api/v1 or http://127.0.0.1:11434/v1' })
        .transform((url) => url.replace(/\/+$/, ''))
        .optional(),
    ),
    description: 'Base URL of the OpenAI-compatible API (`/chat/completions` is appended).',
  }),
  CLAUDE_MEM_OPENAI_API_KEY: setting({
    default: '',
    allowed: 'a key without spaces or line breaks',
    schema: optionalText.pipe(z.string().regex(/^\S+$/, 'a key without spaces or line breaks').optional()),
    description: 'Bearer key for the OpenAI-compatible API (not needed by Ollama or llama.cpp).',
  }),
  CLAUDE_MEM_MODEL: setting({
    default: '',
    allowed: 'a model name such as gpt-4o-mini or llama3.1, without spaces',
    schema: optionalText.pipe(z.string().regex(/^\S+$/, 'a model name such as gpt-4o-mini or llama3.1, without spaces').optional()),
    description: 'Model for the OpenAI-compatible API; required with that provider.',
  }),
  CLAUDE_MEM_SKIP_TOOLS: setting({
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
  }),
  CLAUDE_MEM_DATA_DIR: setting({
    default: '~/.claude-mem',
    allowed: 'a directory path',
    schema: trimmed.min(1, 'a directory path'),
    description: 'Holds settings.json and the event log, session-events.db.',
  }),
  CLAUDE_MEM_WORKER_BODY_LIMIT_MB: setting({
    default: '10',
    allowed: 'a number of megabytes above 0 and at most 1024',
    schema: decimal(0, 1_024, 'a number of megabytes above 0 and at most 1024', true),
    description: 'Request bodies over this get 413.',
  }),
  CLAUDE_MEM_WORKER_TOKEN: setting({
    default: '',
    allowed: 'at least 16 characters, no spaces',
    schema: optionalText.pipe(
      z
        .string()
        .regex(/^\S{16,}$/, 'at least 16 characters, no spaces')
        .optional(),
    ),
    description: 'When set, every route but readiness and health needs `Authorization: Bearer <token>`.',
  }),
  CLAUDE_MEM_AGENT_TIMEOUT_SECONDS: setting({
    default: '120',
    allowed: `a number of seconds above 0 and at most ${Math.floor(MAX_TIMER_MS / 1_000)}`,
    schema: decimal(0, MAX_TIMER_MS / 1_000, `a number of seconds above 0 and at most ${Math.floor(MAX_TIMER_MS / 1_000)}`, true),
    description: 'An agent call that takes longer is aborted and retried with backoff.',
  }),
  CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS: setting({
    default: '10',
    allowed: 'a number of seconds from 0 to 600',
    schema: decimal(0, 600, 'a number of seconds from 0 to 600'),
    description: 'On SIGINT/SIGTERM, how long in-flight agent calls may finish before they are aborted.',
  }),
  CLAUDE_MEM_EVENT_RETENTION_HOURS: setting({
    default: '24',
    allowed: 'a number of hours from 0 to 100000',
    schema: decimal(0, 100_000, 'a number of hours from 0 to 100000'),
    description: 'How long a disposed session’s events are kept before compaction to a summary row.',
  }),
  CLAUDE_MEM_SNAPSHOT_EVERY: setting({
    default: '500',
    allowed: 'an integer from 1 to 1000000',
    schema: integer(1, 1_000_000, 'an integer from 1 to 1000000'),
    description: 'A session snapshot is logged every this many of its events, and when it goes dormant (recovery replays only the tail).',
  }),
  CLAUDE_MEM_INSPECT: setting({
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
  CLAUDE_MEM_LOG_LEVEL: setting({
    default: 'info',
    allowed: 'fatal, error, warn, info, debug, trace or silent',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'fatal, error, warn, info, debug, trace or silent'),
    description: 'Verbosity of the worker’s pino log (JSON on stdout).',
  }),
} as const;

export const DEFAULT_INSPECTOR_URL = 'ws://127.0.0.1:7777';

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** A setting that cannot be used: the message names the key, the value, where it came from and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

/** Reads settings.json: a flat object whose values are strings (numbers and booleans are accepted too). */
function readSettingsFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError('settings.json', `cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('settings.json', `${path} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('settings.json', `${path} must hold a JSON object of "KEY": "value" pairs`);
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in SETTINGS)) continue; // claude-mem keeps its own keys in the same file
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
    else
      throw new ConfigError(
        key,
        `${key} in ${path} is ${JSON.stringify(value)}; expected a string: ${SETTINGS[key as SettingKey].allowed}`,
      );
  }
  return values;
}

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The data directory alone, as `loadConfig` would resolve it, for tools (replay) that must work even
 * when some other setting is invalid.
 */
export function resolveDataDir(options: LoadConfigOptions = {}): string {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  if (env.CLAUDE_MEM_DATA_DIR?.trim()) return expandHome(env.CLAUDE_MEM_DATA_DIR.trim(), home);
  const baseDir = expandHome(SETTINGS.CLAUDE_MEM_DATA_DIR.default, home);
  const fromFile = readSettingsFile(join(baseDir, 'settings.json')).CLAUDE_MEM_DATA_DIR?.trim();
  return expandHome(fromFile || baseDir, home);
}

/**
 * Resolves the configuration: defaults, then `$CLAUDE_MEM_DATA_DIR/settings.json`, then the environment.
 * Throws a {@link ConfigError} for the first value that is not allowed.
 */
export function loadConfig(options: LoadConfigOptions = {}): WorkerConfig {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const baseDir = expandHome(env.CLAUDE_MEM_DATA_DIR?.trim() || SETTINGS.CLAUDE_MEM_DATA_DIR.default, home);
  const settingsFile = join(baseDir, 'settings.json');
  const fromFile = readSettingsFile(settingsFile);

  const sources = {} as Record<SettingKey, string>;
  const raw = (key: SettingKey): string => {
    const fromEnv = env[key];
    if (fromEnv !== undefined) {
      sources[key] = 'environment';
      return fromEnv;
    }
    if (fromFile[key] !== undefined) {
      sources[key] = settingsFile;
      return fromFile[key]!;
    }
    sources[key] = 'default';
    return SETTINGS[key].default;
  };
  const value = <K extends SettingKey>(key: K): z.output<(typeof SETTINGS)[K]['schema']> => {
    const text = raw(key);
    const result = SETTINGS[key].schema.safeParse(text);
    if (!result.success) {
      const source = sources[key] === 'environment' ? 'the environment' : sources[key] === 'default' ? 'the default' : sources[key];
      throw new ConfigError(key, `${key}=${JSON.stringify(text)} (from ${source}) is not allowed: expected ${SETTINGS[key].allowed}`);
    }
    return result.data as z.output<(typeof SETTINGS)[K]['schema']>;
  };

  const config = {
    port: value('CLAUDE_MEM_WORKER_PORT'),
    host: value('CLAUDE_MEM_WORKER_HOST'),
    sessionTtlMs: Math.round(value('CLAUDE_MEM_SESSION_TTL_MINUTES') * 60_000),
    graceMs: Math.round(value('CLAUDE_MEM_SESSION_GRACE_SECONDS') * 1_000),
    maxConversationHistory: value('CLAUDE_MEM_MAX_CONVERSATION_HISTORY'),
    maxConversationTokens: value('CLAUDE_MEM_MAX_CONVERSATION_TOKENS'),
    maxActiveSessions: value('CLAUDE_MEM_MAX_ACTIVE_SESSIONS'),
    maxConcurrentAgents: value('CLAUDE_MEM_MAX_CONCURRENT_AGENTS'),
    maxQueuedItems: value('CLAUDE_MEM_MAX_QUEUED_ITEMS'),
    memoryLimitPercent: value('CLAUDE_MEM_MEMORY_LIMIT_PERCENT'),
    memoryTargetPercent: value('CLAUDE_MEM_MEMORY_TARGET_PERCENT'),
    provider: value('CLAUDE_MEM_PROVIDER'),
    openaiBaseUrl: value('CLAUDE_MEM_OPENAI_BASE_URL'),
    openaiApiKey: value('CLAUDE_MEM_OPENAI_API_KEY'),
    model: value('CLAUDE_MEM_MODEL'),
    skipTools: value('CLAUDE_MEM_SKIP_TOOLS'),
    dataDir: expandHome(value('CLAUDE_MEM_DATA_DIR'), home),
    bodyLimitBytes: Math.round(value('CLAUDE_MEM_WORKER_BODY_LIMIT_MB') * 1024 * 1024),
    token: value('CLAUDE_MEM_WORKER_TOKEN'),
    agentTimeoutMs: Math.round(value('CLAUDE_MEM_AGENT_TIMEOUT_SECONDS') * 1_000),
    shutdownDrainMs: Math.round(value('CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS') * 1_000),
    eventRetentionMs: Math.round(value('CLAUDE_MEM_EVENT_RETENTION_HOURS') * 3_600_000),
    snapshotEvery: value('CLAUDE_MEM_SNAPSHOT_EVERY'),
    inspectUrl: value('CLAUDE_MEM_INSPECT'),
    logLevel: value('CLAUDE_MEM_LOG_LEVEL'),
    sources,
    settingsFile,
  } satisfies WorkerConfig;

  // Rules between keys.
  if (config.memoryTargetPercent >= config.memoryLimitPercent) {
    throw new ConfigError(
      'CLAUDE_MEM_MEMORY_TARGET_PERCENT',
      `CLAUDE_MEM_MEMORY_TARGET_PERCENT=${config.memoryTargetPercent} must be below CLAUDE_MEM_MEMORY_LIMIT_PERCENT=${config.memoryLimitPercent}`,
    );
  }
  if (config.provider === 'openai-compatible') {
    for (const key of ['CLAUDE_MEM_OPENAI_BASE_URL', 'CLAUDE_MEM_MODEL'] as const) {
      if (value(key) === undefined) {
        throw new ConfigError(key, `${key} is required when CLAUDE_MEM_PROVIDER=openai-compatible: expected ${SETTINGS[key].allowed}`);
      }
    }
  }
  if (!isLoopback(config.host) && config.token === undefined) {
    throw new ConfigError(
      'CLAUDE_MEM_WORKER_HOST',
      `CLAUDE_MEM_WORKER_HOST=${JSON.stringify(config.host)} exposes the worker beyond this machine: set CLAUDE_MEM_WORKER_TOKEN too, or bind 127.0.0.1`,
    );
  }
  return config;
}

/** The event log's file in a data directory. */
export function eventLogPath(dataDir: string): string {
  return join(dataDir, 'session-events.db');
}
