import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, claudeMemDefaultPort, loadConfig, SETTING_KEYS, SETTINGS, type SettingKey } from '../../src/config/index.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();

/** A home directory with $HOME/.claude-mem/settings.json holding `settings`. */
function homeWith(settings: unknown): string {
  const home = tempDir();
  mkdirSync(join(home, '.claude-mem'), { recursive: true });
  writeFileSync(join(home, '.claude-mem', 'settings.json'), typeof settings === 'string' ? settings : JSON.stringify(settings));
  return home;
}

const load = (env: Record<string, string> = {}, home = tempDir()) => loadConfig({ env, home });

describe('configuration', () => {
  it('has the defaults of the design card', () => {
    const config = load();
    expect(config).toMatchObject({
      port: 37700 + ((process.getuid?.() ?? 77) % 100),
      host: '127.0.0.1',
      sessionTtlMs: 60 * 60_000,
      graceMs: 30_000,
      maxConversationHistory: 50,
      maxConversationTokens: 100_000,
      maxActiveSessions: 100,
      maxConcurrentAgents: 2,
      memoryLimitPercent: 80,
      memoryTargetPercent: 75,
      provider: 'local',
      skipTools: ['ListMcpResourcesTool', 'SlashCommand', 'Skill', 'TodoWrite', 'AskUserQuestion'],
      dataDir: join(tempDir(), '.claude-mem'),
      bodyLimitBytes: 10 * 1024 * 1024,
      token: undefined,
      inspectUrl: undefined,
    });
    expect(Object.values(config.sources).every((source) => source === 'default')).toBe(true);
  });

  it('reads settings.json, and lets the environment override it', () => {
    const home = homeWith({ CLAUDE_MEM_SESSION_TTL_MINUTES: '15', CLAUDE_MEM_WORKER_PORT: 40000, CLAUDE_MEM_SOMETHING_OF_CLAUDE_MEM: 'x' });
    const config = load({ CLAUDE_MEM_WORKER_PORT: '41000' }, home);
    expect(config.sessionTtlMs).toBe(15 * 60_000);
    expect(config.port).toBe(41000);
    expect(config.sources.CLAUDE_MEM_SESSION_TTL_MINUTES).toBe(join(home, '.claude-mem', 'settings.json'));
    expect(config.sources.CLAUDE_MEM_WORKER_PORT).toBe('environment');
  });

  it('accepts decimals for the TTL and a list for the skipped tools', () => {
    const config = load({ CLAUDE_MEM_SESSION_TTL_MINUTES: '0.5', CLAUDE_MEM_SKIP_TOOLS: ' Read , Grep,,' });
    expect(config.sessionTtlMs).toBe(30_000);
    expect(config.skipTools).toEqual(['Read', 'Grep']);
  });

  it('gathers batches for 30 s, or until 10 s without a tool use, unless told otherwise (0 does not gather)', () => {
    expect(load()).toMatchObject({ batchWindowMs: 30_000, batchQuietMs: 10_000, digestAnsweredObservations: true });
    expect(load({ CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0', CLAUDE_MEM_BATCH_QUIET_SECONDS: '0.5' })).toMatchObject({
      batchWindowMs: 0,
      batchQuietMs: 500,
    });
  });

  it('finds settings.json in CLAUDE_MEM_DATA_DIR, expanding ~', () => {
    const home = tempDir();
    mkdirSync(join(home, 'data'), { recursive: true });
    writeFileSync(join(home, 'data', 'settings.json'), JSON.stringify({ CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '7' }));
    const config = load({ CLAUDE_MEM_DATA_DIR: '~/data' }, home);
    expect(config).toMatchObject({ dataDir: join(home, 'data'), maxActiveSessions: 7 });
  });

  it('configures the OpenAI-compatible provider', () => {
    const config = load({
      CLAUDE_MEM_PROVIDER: 'openai-compatible',
      CLAUDE_MEM_OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/',
      CLAUDE_MEM_MODEL: 'llama3.1',
    });
    expect(config).toMatchObject({
      provider: 'openai-compatible',
      openaiBaseUrl: 'http://127.0.0.1:11434/v1',
      model: 'llama3.1',
      openaiApiKey: undefined,
    });
  });

  // One wrong value per key: the error names the key, the value, and what is allowed.
  const wrong: Record<SettingKey, string> = {
    CLAUDE_MEM_WORKER_PORT: '70000',
    CLAUDE_MEM_WORKER_HOST: 'bad host!',
    CLAUDE_MEM_SESSION_TTL_MINUTES: '-1',
    CLAUDE_MEM_SESSION_GRACE_SECONDS: 'soon',
    CLAUDE_MEM_MAX_CONVERSATION_HISTORY: '1',
    CLAUDE_MEM_MAX_CONVERSATION_TOKENS: '1e5',
    CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: '0',
    CLAUDE_MEM_MAX_ACTIVE_SESSIONS: '0',
    CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '2.5',
    CLAUDE_MEM_MAX_QUEUED_ITEMS: 'lots',
    CLAUDE_MEM_MAX_BATCH_ITEMS: '0',
    CLAUDE_MEM_BATCH_WINDOW_SECONDS: '-5',
    CLAUDE_MEM_BATCH_QUIET_SECONDS: 'a while',
    CLAUDE_MEM_DIGEST_ANSWERED_OBSERVATIONS: 'yes',
    CLAUDE_MEM_MEMORY_LIMIT_PERCENT: '150',
    CLAUDE_MEM_MEMORY_TARGET_PERCENT: '0',
    CLAUDE_MEM_PROVIDER: 'anthropic',
    CLAUDE_MEM_FALLBACK_PROVIDERS: 'gemini,gemini',
    CLAUDE_MEM_OPENAI_BASE_URL: 'not a url',
    CLAUDE_MEM_OPENAI_API_KEY: 'sk-abc\ndef',
    CLAUDE_MEM_MODEL: 'gpt 4',
    CLAUDE_MEM_OPENAI_MODEL: 'llama 3',
    CLAUDE_MEM_CLAUDE_AUTH_METHOD: 'password',
    CLAUDE_CODE_PATH: 'claude',
    CLAUDE_MEM_GEMINI_API_KEY: 'AIza abc',
    CLAUDE_MEM_GEMINI_MODEL: 'gemini flash',
    CLAUDE_MEM_GEMINI_BASE_URL: 'generativelanguage.googleapis.com',
    CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED: 'yes',
    CLAUDE_MEM_OPENROUTER_API_KEY: 'sk-or\nv1',
    CLAUDE_MEM_OPENROUTER_MODEL: 'anthropic/claude haiku',
    CLAUDE_MEM_OPENROUTER_BASE_URL: 'openrouter.ai/api/v1',
    CLAUDE_MEM_OPENROUTER_SITE_URL: 'my site',
    CLAUDE_MEM_OPENROUTER_APP_NAME: 'claude-mem\nX-Injected: 1',
    CLAUDE_MEM_SKIP_TOOLS: 'Read;rm -rf /',
    CLAUDE_MEM_DATA_DIR: '   ',
    CLAUDE_MEM_WORKER_BODY_LIMIT_MB: '0',
    CLAUDE_MEM_WORKER_TOKEN: 'too short',
    CLAUDE_MEM_AGENT_TIMEOUT_SECONDS: '0',
    CLAUDE_MEM_SHUTDOWN_DRAIN_SECONDS: '3600',
    CLAUDE_MEM_EVENT_RETENTION_HOURS: '-2',
    CLAUDE_MEM_CONTEXT_OBSERVATIONS: 'fifty',
    CLAUDE_MEM_CONTEXT_SESSION_COUNT: '-1',
    CLAUDE_MEM_CONTEXT_MAX_TOKENS: '10',
    CLAUDE_MEM_MEMORY_RETENTION_DAYS: 'forever',
    CLAUDE_MEM_SNAPSHOT_EVERY: '0',
    CLAUDE_MEM_INSPECT: 'yes please',
    CLAUDE_MEM_ENGINE: 'cluster',
    CLAUDE_MEM_RESTATE_INGRESS_URL: 'localhost:8080',
    CLAUDE_MEM_RESTATE_CALL_TIMEOUT_SECONDS: '0',
    CLAUDE_MEM_RESTATE_ADMIN_URL: 'ftp://127.0.0.1:9070',
    CLAUDE_MEM_RESTATE_SERVICE_PORT: '65536',
    CLAUDE_MEM_RESTATE_SERVICE_HOST: 'two hosts',
    CLAUDE_MEM_RESTATE_ADVERTISED_URL: 'http://',
    CLAUDE_MEM_POSTGRES_URL: 'mysql://user@127.0.0.1:3306/memories',
    CLAUDE_MEM_LOG_LEVEL: 'loud',
  };
  it.each(SETTING_KEYS)('rejects a wrong %s, naming it', (key) => {
    const value = wrong[key];
    let error: unknown;
    try {
      load({ [key]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as Error).message).toContain(
      `${key}=${JSON.stringify(value)} (from the environment) is not allowed: expected ${SETTINGS[key].allowed}`,
    );
  });

  it('runs the embedded engine unless told otherwise, and needs an ingress for Restate', () => {
    expect(load({})).toMatchObject({ engine: 'embedded', restate: { ingressUrl: undefined, adminUrl: undefined, servicePort: 9080 } });
    expect(() => load({ CLAUDE_MEM_ENGINE: 'restate' })).toThrow(
      /CLAUDE_MEM_RESTATE_INGRESS_URL is required when CLAUDE_MEM_ENGINE=restate/,
    );
    const config = load({
      CLAUDE_MEM_ENGINE: 'restate',
      CLAUDE_MEM_RESTATE_INGRESS_URL: 'http://10.0.0.5:8080/',
      CLAUDE_MEM_RESTATE_ADMIN_URL: 'http://10.0.0.5:9070',
      CLAUDE_MEM_RESTATE_SERVICE_PORT: '0',
    });
    expect(config).toMatchObject({
      engine: 'restate',
      restate: { ingressUrl: 'http://10.0.0.5:8080', adminUrl: 'http://10.0.0.5:9070', servicePort: 0, serviceHost: '127.0.0.1' },
    });
  });

  it('reads a PostgreSQL URL for the memories as it is given, and refuses anything else', () => {
    expect(load({}).postgresUrl).toBeUndefined();
    const url = 'postgresql://memories:p%40ss@db.internal:5432/memories?sslmode=require';
    expect(load({ CLAUDE_MEM_POSTGRES_URL: ` ${url} ` }).postgresUrl).toBe(url);
    expect(load({ CLAUDE_MEM_POSTGRES_URL: 'postgres://127.0.0.1/m' }).postgresUrl).toBe('postgres://127.0.0.1/m');
    for (const wrong of ['127.0.0.1:5432/memories', 'http://127.0.0.1:5432/memories', 'postgresql://', 'not a url']) {
      expect(() => load({ CLAUDE_MEM_POSTGRES_URL: wrong }), wrong).toThrow(
        /CLAUDE_MEM_POSTGRES_URL=.* is not allowed: expected a postgres:\/\//,
      );
    }
  });

  it('requires a base URL and a model for the OpenAI-compatible provider', () => {
    expect(() => load({ CLAUDE_MEM_PROVIDER: 'openai-compatible', CLAUDE_MEM_MODEL: 'm' })).toThrow(
      /CLAUDE_MEM_OPENAI_BASE_URL is required/,
    );
    // CLAUDE_MEM_MODEL's default is the claude provider's model: it does not count.
    expect(() => load({ CLAUDE_MEM_PROVIDER: 'openai-compatible', CLAUDE_MEM_OPENAI_BASE_URL: 'http://x' })).toThrow(
      /CLAUDE_MEM_OPENAI_MODEL is required when CLAUDE_MEM_PROVIDER=openai-compatible/,
    );
    expect(
      load({ CLAUDE_MEM_PROVIDER: 'openai-compatible', CLAUDE_MEM_OPENAI_BASE_URL: 'http://x', CLAUDE_MEM_OPENAI_MODEL: 'qwen' }).model,
    ).toBe('qwen');
  });

  it('accepts the provider settings claude-mem 13.x writes, as it writes them', () => {
    const config = load(
      {},
      homeWith({
        CLAUDE_MEM_PROVIDER: 'claude',
        CLAUDE_MEM_MODEL: 'claude-haiku-4-5-20251001',
        CLAUDE_MEM_CLAUDE_AUTH_METHOD: 'subscription',
        CLAUDE_CODE_PATH: '',
        CLAUDE_MEM_GEMINI_API_KEY: '',
        CLAUDE_MEM_GEMINI_MODEL: 'gemini-flash-latest',
        CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED: 'true',
        CLAUDE_MEM_OPENROUTER_API_KEY: '',
        CLAUDE_MEM_OPENROUTER_MODEL: 'xiaomi/mimo-v2-flash:free',
        CLAUDE_MEM_OPENROUTER_BASE_URL: '',
        CLAUDE_MEM_OPENROUTER_SITE_URL: '',
        CLAUDE_MEM_OPENROUTER_APP_NAME: 'claude-mem',
      }),
    );
    expect(config).toMatchObject({
      provider: 'claude',
      fallbackProviders: [],
      providers: {
        claude: { model: 'claude-haiku-4-5-20251001', authMethod: 'subscription', executable: undefined },
        gemini: { apiKey: undefined, model: 'gemini-flash-latest' },
        openrouter: { apiKey: undefined, model: 'xiaomi/mimo-v2-flash:free', baseUrl: undefined, appName: 'claude-mem' },
      },
    });
    for (const provider of ['gemini', 'openrouter'] as const)
      expect(load({ CLAUDE_MEM_PROVIDER: provider, CLAUDE_MEM_GEMINI_API_KEY: 'k', CLAUDE_MEM_OPENROUTER_API_KEY: 'k' }).provider).toBe(
        provider,
      );
  });

  it('requires each provider in use, fallbacks included, to have its key; the provider itself is not its own fallback', () => {
    expect(() => load({ CLAUDE_MEM_PROVIDER: 'gemini' })).toThrow(/CLAUDE_MEM_GEMINI_API_KEY is required when CLAUDE_MEM_PROVIDER=gemini/);
    expect(() => load({ CLAUDE_MEM_PROVIDER: 'claude', CLAUDE_MEM_FALLBACK_PROVIDERS: 'gemini' })).toThrow(
      /CLAUDE_MEM_GEMINI_API_KEY is required when gemini is in CLAUDE_MEM_FALLBACK_PROVIDERS/,
    );
    expect(() => load({ CLAUDE_MEM_FALLBACK_PROVIDERS: 'openrouter' })).toThrow(/CLAUDE_MEM_OPENROUTER_API_KEY is required/);
    // A custom endpoint for the openrouter provider may need no key (a local server).
    expect(load({ CLAUDE_MEM_PROVIDER: 'openrouter', CLAUDE_MEM_OPENROUTER_BASE_URL: 'http://127.0.0.1:1234/v1' }).provider).toBe(
      'openrouter',
    );
    const config = load({
      CLAUDE_MEM_PROVIDER: 'claude',
      CLAUDE_MEM_FALLBACK_PROVIDERS: ' claude, gemini ,local',
      CLAUDE_MEM_GEMINI_API_KEY: 'k',
    });
    expect(config.fallbackProviders).toEqual(['gemini', 'local']);
    expect(load({ CLAUDE_CODE_PATH: '~/bin/claude' }, undefined).providers.claude.executable).toMatch(/\/bin\/claude$/);
  });

  it('reads the history low-water mark as a fraction of the bounds, a quarter by default', () => {
    expect(load({}).historyLowWater).toBe(0.25);
    expect(load({ CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: '100' }).historyLowWater).toBe(1);
    expect(load({ CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: '62.5' }).historyLowWater).toBe(0.625);
    expect(() => load({ CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT: '101' })).toThrow(/CLAUDE_MEM_HISTORY_LOW_WATER_PERCENT="101"/);
  });

  it('keeps the memory target below the limit', () => {
    expect(() => load({ CLAUDE_MEM_MEMORY_LIMIT_PERCENT: '70' })).toThrow(
      /CLAUDE_MEM_MEMORY_TARGET_PERCENT=75 must be below CLAUDE_MEM_MEMORY_LIMIT_PERCENT=70/,
    );
  });

  it('refuses to bind beyond loopback without a token', () => {
    expect(() => load({ CLAUDE_MEM_WORKER_HOST: '0.0.0.0' })).toThrow(/set CLAUDE_MEM_WORKER_TOKEN/);
    expect(load({ CLAUDE_MEM_WORKER_HOST: '0.0.0.0', CLAUDE_MEM_WORKER_TOKEN: 'a-long-enough-secret' }).host).toBe('0.0.0.0');
  });

  it('names the file when settings.json is not JSON, not an object, or holds a value that is not a string', () => {
    expect(() => load({}, homeWith('{ "CLAUDE_MEM_WORKER_PORT": '))).toThrow(/settings\.json is not valid JSON/);
    expect(() => load({}, homeWith('[1, 2]'))).toThrow(/settings\.json must hold a JSON object/);
    expect(() => load({}, homeWith({ CLAUDE_MEM_WORKER_PORT: { port: 1 } }))).toThrow(
      /CLAUDE_MEM_WORKER_PORT in .*settings\.json is \{"port":1\}/,
    );
    expect(() => load({}, homeWith({ CLAUDE_MEM_SESSION_TTL_MINUTES: 'an hour' }))).toThrow(
      /CLAUDE_MEM_SESSION_TTL_MINUTES="an hour" \(from .*settings\.json\) is not allowed/,
    );
  });

  it('defaults the port by claude-mem’s rule: 37700 + uid % 100, 37777 without a uid; settings.json and the environment win', () => {
    expect(claudeMemDefaultPort(0)).toBe(37700);
    expect(claudeMemDefaultPort(501)).toBe(37701);
    expect(claudeMemDefaultPort(1000)).toBe(37700);
    expect(claudeMemDefaultPort(undefined)).toBe(37777);
    expect(load().port).toBe(claudeMemDefaultPort(process.getuid?.()));
    expect(load({}, homeWith({ CLAUDE_MEM_WORKER_PORT: '37777' })).port).toBe(37777);
    expect(load({ CLAUDE_MEM_WORKER_PORT: '40001' }, homeWith({ CLAUDE_MEM_WORKER_PORT: '37777' })).port).toBe(40001);
  });

  it('reads claude-mem’s values: the log level in any case, its provider and model names', () => {
    for (const [written, level] of [
      ['INFO', 'info'],
      ['DEBUG', 'debug'],
      ['Warn', 'warn'],
      ['WARNING', 'warn'],
      ['ERROR', 'error'],
      ['SILENT', 'silent'],
    ] as const) {
      expect(load({}, homeWith({ CLAUDE_MEM_LOG_LEVEL: written })).logLevel).toBe(level);
    }
    expect(load({}, homeWith({ CLAUDE_MEM_PROVIDER: 'claude', CLAUDE_MEM_MODEL: 'claude-haiku-4-5-20251001' }))).toMatchObject({
      provider: 'claude',
      providers: { claude: { model: 'claude-haiku-4-5-20251001' } },
    });
    expect(() => load({}, homeWith({ CLAUDE_MEM_LOG_LEVEL: 'CHATTY' }))).toThrow(/CLAUDE_MEM_LOG_LEVEL="CHATTY".*in any case/);
  });

  it('sets claude-mem’s own keys aside, and names a key that looks like a misspelling of one of ours, in the file or the environment', () => {
    const home = homeWith({
      CLAUDE_MEM_SESSION_TTL_MINUTES: '15',
      CLAUDE_MEM_MODE: 'code', // claude-mem's, one letter from CLAUDE_MEM_MODEL: not a misspelling
      CLAUDE_MEM_CHROMA_ENABLED: 'true',
      CLAUDE_MEM_SESION_TTL_MINUTES: '5',
      claude_mem_max_active_sessions: '3',
      SOMETHING_ELSE: 'x',
    });
    const config = load({ CLAUDE_MEM_MAX_CONVERSATON_HISTORY: '10', CLAUDE_MEM_HEALTH_TIMEOUT_MS: '500', PATH: '/usr/bin' }, home);
    const file = join(home, '.claude-mem', 'settings.json');
    expect(config.sessionTtlMs).toBe(15 * 60_000); // the misspelt key changed nothing
    expect(config.maxActiveSessions).toBe(100);
    expect(config.notices.ignoredKeys).toEqual(['CLAUDE_MEM_MODE', 'CLAUDE_MEM_CHROMA_ENABLED', 'SOMETHING_ELSE']);
    expect(config.notices.misspellings).toEqual([
      { key: 'CLAUDE_MEM_SESION_TTL_MINUTES', source: file, meant: 'CLAUDE_MEM_SESSION_TTL_MINUTES' },
      { key: 'claude_mem_max_active_sessions', source: file, meant: 'CLAUDE_MEM_MAX_ACTIVE_SESSIONS' },
      { key: 'CLAUDE_MEM_MAX_CONVERSATON_HISTORY', source: 'the environment', meant: 'CLAUDE_MEM_MAX_CONVERSATION_HISTORY' },
    ]);
  });

  it('treats a prototype key in settings.json as a key of no one, not as one of ours', () => {
    const config = load({}, homeWith('{"toString": "x", "constructor": "y", "CLAUDE_MEM_SNAPSHOT_EVERY": "7"}'));
    expect(config.snapshotEvery).toBe(7);
    expect(config.notices.ignoredKeys).toEqual(['toString', 'constructor']);
  });
});
