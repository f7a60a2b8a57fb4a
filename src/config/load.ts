/**
 * Owns resolving the worker's configuration: defaults from the key table, then settings.json, then the
 * environment; every value validated by its key's schema, then the rules between keys.
 * May not: define keys (settings.ts) or read settings.json itself (settings-file.ts).
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { type SettingsNotices, settingsNotices } from './notices.js';
import { type ProviderName, SETTINGS, type SettingKey, type SettingValue } from './settings.js';
import { readSettingsFile } from './settings-file.js';

export type { ProviderName };

/** What each provider needs, resolved (docs/providers.md). */
export interface ProviderSettings {
  readonly claude: {
    readonly model: string;
    readonly authMethod: 'subscription' | 'api-key' | 'gateway' | 'cli';
    /** CLAUDE_CODE_PATH, ~ expanded; undefined: the SDK's own binary. */
    readonly executable: string | undefined;
  };
  readonly gemini: {
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly baseUrl: string | undefined;
    /** CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED: accepted, see its description. */
    readonly rateLimiting: boolean;
  };
  readonly openrouter: {
    readonly apiKey: string | undefined;
    readonly model: string;
    /** undefined: OpenRouter's own endpoint. */
    readonly baseUrl: string | undefined;
    readonly siteUrl: string | undefined;
    readonly appName: string | undefined;
  };
}
export type EngineName = 'embedded' | 'restate';

/** How a worker reaches a Restate cluster (`engine: 'restate'`), and whether it serves the session services too. */
export interface RestateSettings {
  /** Required with the Restate engine. */
  readonly ingressUrl: string | undefined;
  /** How long a command keeps trying Restate before it is refused. */
  readonly callTimeoutMs: number;
  /** When set, the worker also serves the session services and registers them here. */
  readonly adminUrl: string | undefined;
  readonly servicePort: number;
  readonly serviceHost: string;
  /** What is registered with the admin API; default `http://<serviceHost>:<servicePort>`. */
  readonly advertisedUrl: string | undefined;
}
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The worker's configuration, resolved from defaults, settings.json and the environment. */
export interface WorkerConfig {
  readonly port: number;
  readonly host: string;
  readonly sessionTtlMs: number;
  readonly graceMs: number;
  readonly maxConversationHistory: number;
  readonly maxConversationTokens: number;
  /** Where a trim cuts the history to, as a fraction of both bounds (CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT / 100). */
  readonly historyLowWater: number;
  readonly maxActiveSessions: number;
  readonly maxConcurrentAgents: number;
  readonly maxQueuedItems: number;
  readonly maxBatchItems: number;
  /** How long a batch of observations may gather before its agent call (CLAUDE_MEM_BATCH_WINDOW_SECONDS), in ms. */
  readonly batchWindowMs: number;
  /** A gathering batch goes once no observation has come for this long (CLAUDE_MEM_BATCH_QUIET_SECONDS), in ms. */
  readonly batchQuietMs: number;
  /** Answered observations leave the history as a digest (CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS). */
  readonly digestAnsweredObservations: boolean;
  readonly memoryLimitPercent: number;
  readonly memoryTargetPercent: number;
  readonly provider: ProviderName;
  /** CLAUDE_MEM_FALLBACK_PROVIDERS without the provider itself: who takes a batch it refuses, in order. */
  readonly fallbackProviders: readonly ProviderName[];
  readonly openaiBaseUrl: string | undefined;
  readonly openaiApiKey: string | undefined;
  /** The `openai-compatible` model: CLAUDE_MEM_OPENAI_MODEL, else CLAUDE_MEM_MODEL when set. */
  readonly model: string | undefined;
  readonly providers: ProviderSettings;
  readonly skipTools: readonly string[];
  readonly dataDir: string;
  readonly bodyLimitBytes: number;
  readonly token: string | undefined;
  readonly agentTimeoutMs: number;
  readonly shutdownDrainMs: number;
  readonly eventRetentionMs: number;
  readonly snapshotEvery: number;
  /** What `GET /api/context/inject` shows at most: observations, sessions' summaries, estimated tokens. */
  readonly context: { readonly observations: number; readonly sessions: number; readonly maxTokens: number };
  /** How long memories are kept; 0: until deleted. */
  readonly memoryRetentionMs: number;
  /** A websocket relay to stream every session actor to (@statelyai/inspect), or undefined. */
  readonly inspectUrl: string | undefined;
  readonly logLevel: LogLevel;
  /** What runs the sessions: this process (`embedded`, the default) or a Restate cluster. */
  readonly engine: EngineName;
  readonly restate: RestateSettings;
  /** CLAUDE_MEM_POSTGRES_URL: where a Restate cluster's memories are kept; undefined: nowhere. */
  readonly postgresUrl: string | undefined;
  /** Where each value came from, by key: `default`, the settings file, `environment`, or the flag (`--port`). */
  readonly sources: Readonly<Record<SettingKey, string>>;
  readonly settingsFile: string;
  /** Keys the worker does not read: claude-mem's own (ignored), and what looks like a misspelling of ours. */
  readonly notices: SettingsNotices;
}

export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return isAbsolute(path) ? path : resolve(path);
}

/** A value given on the command line: it wins over the environment, and an error names its flag. */
export interface CommandLineValue {
  readonly flag: string;
  readonly value: string;
}

export interface LoadConfigOptions {
  /** Where CLAUDE_MEM_* are read. Default `process.env`; tests give their own, so that the developer's never leak in. */
  readonly env?: NodeJS.ProcessEnv;
  /** The home directory holding `.claude-mem/settings.json`. Default the user's (`os.homedir()`), as claude-mem's. */
  readonly home?: string;
  /** Values of the command's flags (`serve --port`), by the key each one sets. Default none: the environment and settings.json decide. */
  readonly flags?: Partial<Record<SettingKey, CommandLineValue>>;
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
  const fromFile = readSettingsFile(join(baseDir, 'settings.json')).values.CLAUDE_MEM_DATA_DIR?.trim();
  return expandHome(fromFile || baseDir, home);
}

/**
 * Resolves the configuration: defaults, then `$CLAUDE_MEM_DATA_DIR/settings.json`, then the environment.
 * Throws a {@link ConfigError} for the first value that is not allowed.
 */
export function loadConfig(options: LoadConfigOptions = {}): WorkerConfig {
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const flags = options.flags ?? {};
  const dataDirGiven = flags.CLAUDE_MEM_DATA_DIR?.value ?? env.CLAUDE_MEM_DATA_DIR;
  const baseDir = expandHome(dataDirGiven?.trim() || SETTINGS.CLAUDE_MEM_DATA_DIR.default, home);
  const settingsFile = join(baseDir, 'settings.json');
  const file = readSettingsFile(settingsFile);
  const fromFile = file.values;

  const sources = {} as Record<SettingKey, string>;
  const raw = (key: SettingKey): string => {
    const flag = flags[key];
    if (flag !== undefined) {
      sources[key] = flag.flag;
      return flag.value;
    }
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
  const value = <K extends SettingKey>(key: K): SettingValue<K> => {
    const text = raw(key);
    const result = SETTINGS[key].schema.safeParse(text);
    if (!result.success) {
      const flag = flags[key];
      if (flag !== undefined) {
        throw new ConfigError(
          key,
          `${flag.flag} ${JSON.stringify(text)} is not allowed: expected ${SETTINGS[key].allowed} (it sets ${key})`,
        );
      }
      const source = sources[key] === 'environment' ? 'the environment' : sources[key] === 'default' ? 'the default' : sources[key];
      throw new ConfigError(key, `${key}=${JSON.stringify(text)} (from ${source}) is not allowed: expected ${SETTINGS[key].allowed}`);
    }
    return result.data as SettingValue<K>;
  };

  const claudeModel = value('CLAUDE_MEM_MODEL');
  const config = {
    port: value('CLAUDE_MEM_WORKER_PORT'),
    host: value('CLAUDE_MEM_WORKER_HOST'),
    sessionTtlMs: Math.round(value('CLAUDE_MEM_SESSION_TTL_MINUTES') * 60_000),
    graceMs: Math.round(value('CLAUDE_MEM_SESSION_GRACE_SECONDS') * 1_000),
    maxConversationHistory: value('CLAUDE_MEM_MAX_CONVERSATION_HISTORY'),
    maxConversationTokens: value('CLAUDE_MEM_MAX_CONVERSATION_TOKENS'),
    historyLowWater: value('CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT') / 100,
    maxActiveSessions: value('CLAUDE_MEM_MAX_ACTIVE_SESSIONS'),
    maxConcurrentAgents: value('CLAUDE_MEM_MAX_CONCURRENT_AGENTS'),
    maxQueuedItems: value('CLAUDE_MEM_MAX_QUEUED_ITEMS'),
    maxBatchItems: value('CLAUDE_MEM_MAX_BATCH_ITEMS'),
    batchWindowMs: Math.round(value('CLAUDE_MEM_BATCH_WINDOW_SECONDS') * 1_000),
    batchQuietMs: Math.round(value('CLAUDE_MEM_BATCH_QUIET_SECONDS') * 1_000),
    digestAnsweredObservations: value('CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS'),
    memoryLimitPercent: value('CLAUDE_MEM_MEMORY_LIMIT_PERCENT'),
    memoryTargetPercent: value('CLAUDE_MEM_MEMORY_TARGET_PERCENT'),
    provider: value('CLAUDE_MEM_PROVIDER'),
    fallbackProviders: value('CLAUDE_MEM_FALLBACK_PROVIDERS').filter((name) => name !== value('CLAUDE_MEM_PROVIDER')),
    openaiBaseUrl: value('CLAUDE_MEM_OPENAI_BASE_URL'),
    openaiApiKey: value('CLAUDE_MEM_OPENAI_API_KEY'),
    model: value('CLAUDE_MEM_OPENAI_MODEL') ?? (sources.CLAUDE_MEM_MODEL === 'default' ? undefined : claudeModel),
    providers: {
      claude: {
        model: claudeModel ?? SETTINGS.CLAUDE_MEM_MODEL.default,
        authMethod: value('CLAUDE_MEM_CLAUDE_AUTH_METHOD'),
        executable: ((path) => (path === undefined ? undefined : expandHome(path, home)))(value('CLAUDE_CODE_PATH')),
      },
      gemini: {
        apiKey: value('CLAUDE_MEM_GEMINI_API_KEY'),
        model: value('CLAUDE_MEM_GEMINI_MODEL') ?? SETTINGS.CLAUDE_MEM_GEMINI_MODEL.default,
        baseUrl: value('CLAUDE_MEM_GEMINI_BASE_URL'),
        rateLimiting: value('CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED'),
      },
      openrouter: {
        apiKey: value('CLAUDE_MEM_OPENROUTER_API_KEY'),
        model: value('CLAUDE_MEM_OPENROUTER_MODEL') ?? SETTINGS.CLAUDE_MEM_OPENROUTER_MODEL.default,
        baseUrl: value('CLAUDE_MEM_OPENROUTER_BASE_URL'),
        siteUrl: value('CLAUDE_MEM_OPENROUTER_SITE_URL'),
        appName: value('CLAUDE_MEM_OPENROUTER_APP_NAME'),
      },
    },
    skipTools: value('CLAUDE_MEM_SKIP_TOOLS'),
    dataDir: expandHome(value('CLAUDE_MEM_DATA_DIR'), home),
    bodyLimitBytes: Math.round(value('CLAUDE_MEM_WORKER_BODY_LIMIT_MB') * 1024 * 1024),
    token: value('CLAUDE_MEM_WORKER_TOKEN'),
    agentTimeoutMs: Math.round(value('CLAUDE_MEM_AGENT_TIMEOUT_SECONDS') * 1_000),
    shutdownDrainMs: Math.round(value('CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS') * 1_000),
    eventRetentionMs: Math.round(value('CLAUDE_MEM_EVENT_RETENTION_HOURS') * 3_600_000),
    snapshotEvery: value('CLAUDE_MEM_SNAPSHOT_EVERY'),
    context: {
      observations: value('CLAUDE_MEM_CONTEXT_OBSERVATIONS'),
      sessions: value('CLAUDE_MEM_CONTEXT_SESSION_COUNT'),
      maxTokens: value('CLAUDE_MEM_CONTEXT_MAX_TOKENS'),
    },
    memoryRetentionMs: Math.round(value('CLAUDE_MEM_MEMORY_RETENTION_DAYS') * 86_400_000),
    inspectUrl: value('CLAUDE_MEM_INSPECT'),
    logLevel: value('CLAUDE_MEM_LOG_LEVEL'),
    engine: value('CLAUDE_MEM_ENGINE'),
    restate: {
      ingressUrl: value('CLAUDE_MEM_RESTATE_INGRESS_URL'),
      callTimeoutMs: Math.round(value('CLAUDE_MEM_RESTATE_CALL_TIMEOUT_SECONDS') * 1_000),
      adminUrl: value('CLAUDE_MEM_RESTATE_ADMIN_URL'),
      servicePort: value('CLAUDE_MEM_RESTATE_SERVICE_PORT'),
      serviceHost: value('CLAUDE_MEM_RESTATE_SERVICE_HOST'),
      advertisedUrl: value('CLAUDE_MEM_RESTATE_ADVERTISED_URL'),
    },
    postgresUrl: value('CLAUDE_MEM_POSTGRES_URL'),
    sources,
    settingsFile,
    notices: settingsNotices({ fileKeys: file.otherKeys, settingsFile, env }),
  } satisfies WorkerConfig;

  // Rules between keys.
  if (config.memoryTargetPercent >= config.memoryLimitPercent) {
    throw new ConfigError(
      'CLAUDE_MEM_MEMORY_TARGET_PERCENT',
      `CLAUDE_MEM_MEMORY_TARGET_PERCENT=${config.memoryTargetPercent} must be below CLAUDE_MEM_MEMORY_LIMIT_PERCENT=${config.memoryLimitPercent}`,
    );
  }
  requireProviderSettings(config);
  if (config.engine === 'restate' && config.restate.ingressUrl === undefined) {
    throw new ConfigError(
      'CLAUDE_MEM_RESTATE_INGRESS_URL',
      `CLAUDE_MEM_RESTATE_INGRESS_URL is required when CLAUDE_MEM_ENGINE=restate: expected ${SETTINGS.CLAUDE_MEM_RESTATE_INGRESS_URL.allowed}`,
    );
  }
  if (!isLoopback(config.host) && config.token === undefined) {
    throw new ConfigError(
      'CLAUDE_MEM_WORKER_HOST',
      `CLAUDE_MEM_WORKER_HOST=${JSON.stringify(config.host)} exposes the worker beyond this machine: set CLAUDE_MEM_WORKER_TOKEN too, or bind 127.0.0.1`,
    );
  }
  return config;
}

/** Each provider in use (the provider and its fallbacks) has what it cannot work without. */
function requireProviderSettings(config: Omit<WorkerConfig, 'sources' | 'settingsFile'>): void {
  const inUse = [config.provider, ...config.fallbackProviders];
  const role = (name: ProviderName) =>
    name === config.provider ? `CLAUDE_MEM_PROVIDER=${name}` : `${name} is in CLAUDE_MEM_FALLBACK_PROVIDERS`;
  const missing = (key: SettingKey, name: ProviderName) =>
    new ConfigError(key, `${key} is required when ${role(name)}: expected ${SETTINGS[key].allowed}`);
  if (inUse.includes('openai-compatible')) {
    if (config.openaiBaseUrl === undefined) throw missing('CLAUDE_MEM_OPENAI_BASE_URL', 'openai-compatible');
    if (config.model === undefined) throw missing('CLAUDE_MEM_OPENAI_MODEL', 'openai-compatible');
  }
  if (inUse.includes('gemini') && config.providers.gemini.apiKey === undefined) throw missing('CLAUDE_MEM_GEMINI_API_KEY', 'gemini');
  const { openrouter } = config.providers;
  if (inUse.includes('openrouter') && openrouter.apiKey === undefined && openrouter.baseUrl === undefined) {
    throw missing('CLAUDE_MEM_OPENROUTER_API_KEY', 'openrouter');
  }
}

/** The event log's file in a data directory. */
export function eventLogPath(dataDir: string): string {
  return join(dataDir, 'session-events.db');
}
