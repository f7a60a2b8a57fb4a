/**
 * A session service process for a Restate cluster: `node --import tsx src/cluster/main.ts` (or
 * dist/src/cluster/main.js). Settings come from the worker's own (settings.json and CLAUDE_MEM_*), plus:
 *   CLAUDE_MEM_RESTATE_SERVICE_PORT  port to serve Restate on (default 9080; 0 picks a free one)
 *   CLAUDE_MEM_RESTATE_SERVICE_HOST  address to bind (default 127.0.0.1)
 *   CLAUDE_MEM_RESTATE_ADMIN_URL     when set, the process registers itself there once listening
 *   CLAUDE_MEM_RESTATE_ADVERTISED_URL  the URL Restate should call (a load balancer's), default its own
 * It prints one JSON line `{"listening":port}` once it serves, and stops on SIGTERM/SIGINT.
 */
import './polyfill.js';
import { createLocalAgent, createOpenAICompatibleAgent } from '../agents/index.js';
import { loadConfig } from '../config/index.js';
import { registerSessionService, startSessionService } from './index.js';

const env = process.env;
const config = loadConfig({ env });
const agent =
  config.provider === 'local'
    ? createLocalAgent()
    : createOpenAICompatibleAgent({
        baseUrl: config.openaiBaseUrl ?? '',
        model: config.model ?? '',
        ...(config.openaiApiKey === undefined ? {} : { apiKey: config.openaiApiKey }),
        timeoutMs: config.agentTimeoutMs,
      });
const port = Number(env.CLAUDE_MEM_RESTATE_SERVICE_PORT ?? 9080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`CLAUDE_MEM_RESTATE_SERVICE_PORT must be a port number, got ${env.CLAUDE_MEM_RESTATE_SERVICE_PORT}\n`);
  process.exit(2);
}
const service = await startSessionService({
  agent,
  port,
  host: env.CLAUDE_MEM_RESTATE_SERVICE_HOST ?? '127.0.0.1',
  idleTtlMs: config.sessionTtlMs,
  graceMs: config.graceMs,
  maxHistoryMessages: config.maxConversationHistory,
  maxHistoryTokens: config.maxConversationTokens,
  agentTimeoutMs: config.agentTimeoutMs,
  maxConcurrentAgents: config.maxConcurrentAgents,
  maxQueuedItems: config.maxQueuedItems,
  retentionMs: config.eventRetentionMs,
});
if (env.CLAUDE_MEM_RESTATE_ADMIN_URL) {
  await registerSessionService(env.CLAUDE_MEM_RESTATE_ADMIN_URL, env.CLAUDE_MEM_RESTATE_ADVERTISED_URL ?? service.url);
}
process.stdout.write(`${JSON.stringify({ listening: service.port, pid: process.pid })}\n`);
const stop = () => {
  service.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
