/**
 * A session service process for a Restate cluster: `node --import tsx src/cluster/main.ts` (or
 * dist/src/cluster/main.js). Its settings are the worker's own (settings.json and CLAUDE_MEM_*, see
 * docs/configuration.md), among them:
 *   CLAUDE_MEM_RESTATE_SERVICE_PORT  port to serve Restate on (default 9080; 0 picks a free one)
 *   CLAUDE_MEM_RESTATE_SERVICE_HOST  address to bind (default 127.0.0.1)
 *   CLAUDE_MEM_RESTATE_ADMIN_URL     when set, the process registers itself there once listening
 *   CLAUDE_MEM_RESTATE_ADVERTISED_URL  the URL Restate should call (a load balancer's), default its own
 * It prints one JSON line `{"listening":port}` once it serves, and stops on SIGTERM/SIGINT.
 */
import './polyfill.js';
import { createLocalAgent, createOpenAICompatibleAgent } from '../agents/index.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { registerSessionService, serviceOptionsFromConfig, startSessionService } from './index.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({ env: process.env });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const agent =
  config.provider === 'local'
    ? createLocalAgent()
    : createOpenAICompatibleAgent({
        baseUrl: config.openaiBaseUrl ?? '',
        model: config.model ?? '',
        ...(config.openaiApiKey === undefined ? {} : { apiKey: config.openaiApiKey }),
        timeoutMs: config.agentTimeoutMs,
      });
const { restate } = config;
const service = await startSessionService({
  ...serviceOptionsFromConfig(config, agent),
  port: restate.servicePort,
  host: restate.serviceHost,
});
if (restate.adminUrl !== undefined) await registerSessionService(restate.adminUrl, restate.advertisedUrl ?? service.url);
process.stdout.write(`${JSON.stringify({ listening: service.port, pid: process.pid })}\n`);
const stop = () => {
  service.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
