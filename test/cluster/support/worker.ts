import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config/index.js';
import type { Agent } from '../../../src/index.js';
import { type RunningWorker, startWorker } from '../../../src/worker/index.js';
import { type HttpAnswer, http } from '../../support/worker.js';

export interface RestateTestWorker extends RunningWorker {
  readonly dataDir: string;
  /** Every line it logged at info and above (pino's JSON, parsed). */
  readonly logs: { level: number; msg: string; [field: string]: unknown }[];
  call(method: string, path: string, options?: Parameters<typeof http>[3]): Promise<HttpAnswer>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
}

/**
 * A real worker in this process on 127.0.0.1 and an ephemeral port, on the Restate engine at
 * `ingressUrl`. With `adminUrl` it also serves the session services (on a free port) and registers them.
 * `dataDir` may be shared between workers: on Restate nothing is written there and nothing is locked.
 */
export async function startRestateWorker(options: {
  readonly ingressUrl: string;
  readonly adminUrl?: string;
  readonly agent?: Agent;
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
}): Promise<RestateTestWorker> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'restate-worker-'));
  const owned = options.dataDir === undefined;
  const config = loadConfig({
    env: {
      CLAUDE_MEM_DATA_DIR: dataDir,
      CLAUDE_MEM_WORKER_PORT: '0',
      CLAUDE_MEM_LOG_LEVEL: 'silent',
      CLAUDE_MEM_ENGINE: 'restate',
      CLAUDE_MEM_RESTATE_INGRESS_URL: options.ingressUrl,
      ...(options.adminUrl === undefined ? {} : { CLAUDE_MEM_RESTATE_ADMIN_URL: options.adminUrl, CLAUDE_MEM_RESTATE_SERVICE_PORT: '0' }),
      ...options.env,
    },
    home: dataDir,
  });
  const logs: RestateTestWorker['logs'] = [];
  const worker = await startWorker(config, {
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) }),
    version: '8.5.7',
    ...(options.agent === undefined ? {} : { agent: options.agent }),
  });
  return Object.assign(worker, {
    dataDir,
    logs,
    call: (method: string, path: string, callOptions?: Parameters<typeof http>[3]) => http(worker.port, method, path, callOptions),
    async close() {
      await worker.stop({ drainMs: 0 });
      if (owned) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
