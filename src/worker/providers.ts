/**
 * Owns building the agent the configuration names: the provider (CLAUDE_MEM_PROVIDER) and its fallbacks
 * (CLAUDE_MEM_FALLBACK_PROVIDERS) as one chain, and, when `claude` is among them, the pool its Claude
 * Code processes run in: at most CLAUDE_MEM_MAX_CONCURRENT_AGENTS at once, recorded under
 * `$CLAUDE_MEM_DATA_DIR/agent-processes`, and what a crashed worker left there reaped before anything starts.
 * May not: run a session (the engine does) or decide how refusals are routed (src/agents does).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  type Agent,
  ChildProcesses,
  createClaudeAgent,
  createFallbackAgent,
  createGeminiAgent,
  createLocalAgent,
  createOpenAICompatibleAgent,
  OPENROUTER_BASE_URL,
  openRouterHeaders,
} from '../agents/index.js';
import type { ProviderName, WorkerConfig } from '../config/index.js';

export interface Providers {
  readonly agent: Agent;
  /** The Claude Code processes' pool; undefined when `claude` is not in use. */
  readonly processes: ChildProcesses | undefined;
  /** Kills whatever provider process is still running and waits until it is gone (after the engine stopped). */
  close(): Promise<void>;
}

/** Where the running Claude Code processes are recorded. */
export function agentProcessesDir(dataDir: string): string {
  return join(dataDir, 'agent-processes');
}

/** The environment Claude Code gets: the worker's, without API credentials when it is to use the user's login. */
function claudeEnvironment(config: WorkerConfig, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const { authMethod } = config.providers.claude;
  if (authMethod !== 'subscription' && authMethod !== 'cli') return { ...env };
  const { ANTHROPIC_API_KEY: _key, ANTHROPIC_AUTH_TOKEN: _token, ...rest } = env;
  return rest;
}

function providerAgent(
  name: ProviderName,
  config: WorkerConfig,
  processes: ChildProcesses | undefined,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Agent {
  const { providers, agentTimeoutMs } = config;
  switch (name) {
    case 'local':
      return createLocalAgent();
    case 'claude':
      return createClaudeAgent({
        processes: processes!,
        model: providers.claude.model,
        env: claudeEnvironment(config, env),
        ...(providers.claude.executable === undefined ? {} : { executable: providers.claude.executable }),
        stderr: (text) => logger.debug({ provider: 'claude', stderr: text.trimEnd() }, 'Claude Code wrote on stderr'),
      });
    case 'gemini':
      return createGeminiAgent({
        apiKey: providers.gemini.apiKey!,
        model: providers.gemini.model,
        timeoutMs: agentTimeoutMs,
        ...(providers.gemini.baseUrl === undefined ? {} : { baseUrl: providers.gemini.baseUrl }),
      });
    case 'openrouter':
      return createOpenAICompatibleAgent({
        name: 'openrouter',
        baseUrl: providers.openrouter.baseUrl ?? OPENROUTER_BASE_URL,
        model: providers.openrouter.model,
        timeoutMs: agentTimeoutMs,
        headers: openRouterHeaders(providers.openrouter.siteUrl, providers.openrouter.appName),
        ...(providers.openrouter.apiKey === undefined ? {} : { apiKey: providers.openrouter.apiKey }),
      });
    case 'openai-compatible':
      return createOpenAICompatibleAgent({
        baseUrl: config.openaiBaseUrl!,
        model: config.model!,
        timeoutMs: agentTimeoutMs,
        ...(config.openaiApiKey === undefined ? {} : { apiKey: config.openaiApiKey }),
      });
  }
}

/** The configured provider chain; reaps Claude Code processes a previous worker left when `claude` is in use. */
export function openProviders(config: WorkerConfig, options: { readonly logger: Logger; readonly env?: NodeJS.ProcessEnv }): Providers {
  const { logger } = options;
  const chain = [config.provider, ...config.fallbackProviders];
  let processes: ChildProcesses | undefined;
  if (chain.includes('claude')) {
    processes = new ChildProcesses({ recordDir: agentProcessesDir(config.dataDir), maxRunning: config.maxConcurrentAgents });
    const reaped = processes.reapRecorded();
    if (reaped > 0) logger.warn({ reaped }, 'killed Claude Code processes that a previous worker left running (it did not stop cleanly)');
  }
  const agents = chain.map((name) => providerAgent(name, config, processes, logger, options.env ?? process.env));
  const agent =
    agents.length === 1
      ? agents[0]!
      : createFallbackAgent(agents, {
          // Each provider gets its share of the agent timeout, so a stalled one hands over in time.
          perProviderTimeoutMs: Math.floor(config.agentTimeoutMs / agents.length),
          onHandOver: ({ from, to, sessionDbId, reason }) =>
            logger.warn({ sessionDbId, from, to, kind: reason.kind, reason: reason.message }, `${from} refused a batch; ${to} takes it`),
        });
  return {
    agent,
    processes,
    async close() {
      processes?.killAll();
      await processes?.settled();
    },
  };
}
