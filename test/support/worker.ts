import { request as httpRequest } from 'node:http';
import { pino } from 'pino';
import { loadConfig, type WorkerConfig } from '../../src/config/index.js';
import type { Agent, EmbeddedEngine, EventStore, SessionRegistry } from '../../src/index.js';
import { type RunningWorker, startWorker } from '../../src/worker/index.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes and assert on them
  readonly json: any;
}

/** A request with full control of headers and body (fetch refuses to set Host). */
export function http(
  port: number,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
      ...options.headers,
    };
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface TestWorker extends RunningWorker {
  /** The embedded engine's registry and log (what these workers run; the routes see only the engine). */
  readonly registry: SessionRegistry;
  readonly store: EventStore;
  call(method: string, path: string, options?: Parameters<typeof http>[3]): Promise<HttpAnswer>;
}

/**
 * A real worker on 127.0.0.1 and an ephemeral port, with its data in `dataDir` (the embedded engine).
 * Its batches do not gather unless `env` asks (CLAUDE_MEM_BATCH_WINDOW_SECONDS): these tests follow each
 * item through, gathering has tests of its own (test/registry/gathering.test.ts, test/worker/e2e.test.ts).
 */
export async function startTestWorker(dataDir: string, env: Record<string, string> = {}, agent?: Agent): Promise<TestWorker> {
  const config: WorkerConfig = loadConfig({
    env: {
      CLAUDE_MEM_DATA_DIR: dataDir,
      CLAUDE_MEM_WORKER_PORT: '0',
      CLAUDE_MEM_LOG_LEVEL: 'silent',
      CLAUDE_MEM_BATCH_WINDOW_SECONDS: '0',
      ...env,
    },
    home: dataDir,
  });
  const worker = await startWorker(config, { logger: pino({ level: 'silent' }), version: '8.5.7', ...(agent ? { agent } : {}) });
  // What only the embedded engine has, for assertions on the log itself.
  const { registry, store } = worker.engine as Partial<EmbeddedEngine>;
  if (registry === undefined || store === undefined) throw new Error('startTestWorker runs the embedded engine');
  return Object.assign(worker, {
    registry,
    store,
    call: (method: string, path: string, options?: Parameters<typeof http>[3]) => http(worker.port, method, path, options),
  });
}
