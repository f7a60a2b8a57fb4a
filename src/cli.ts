#!/usr/bin/env node
/**
 * session-lifecycle's command line:
 *   serve              run the worker (what `npm start` runs); `--engine restate` fronts a Restate cluster
 *   restate-service    serve the session services to a Restate cluster (no HTTP API)
 *   replay <session>   print a session's timeline from the event log
 *   inspector          run a loopback relay for the Stately inspector
 *   install claude-mem switch a claude-mem user's hooks to this worker (port, claude-mem's worker, memories)
 *   doctor             what it finds: settings problems, claude-mem's hooks, who serves their port
 *   import claude-mem  copy claude-mem's memories (observations, summaries) into this worker's store, or a cluster's PostgreSQL
 */
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { doctor, formatReport, installClaudeMem } from './claude-mem/index.js';
import { openMemoryDatabase, serveSessionServices } from './cluster/index.js';
import {
  type CommandLineValue,
  ConfigError,
  DEFAULT_INSPECTOR_URL,
  type EngineName,
  eventLogPath,
  loadConfig,
  resolveDataDir,
  SETTINGS,
  type SettingKey,
} from './config/index.js';
import { InspectorRelayError, startInspectorRelay } from './inspector/index.js';
import { ClaudeMemImportError, describeConnection, importClaudeMem, openPostgresMemories, openSqliteMemories } from './memories/index.js';
import { formatTimeline, sessionTimeline } from './replay/index.js';
import { EventStoreError, openSqliteStore } from './store/index.js';
import { ENGINES, openProviders, packageVersion, startWorker, WorkerStartError } from './worker/index.js';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT, SIGTERM): long-running commands wait on it. */
  readonly stopRequested: () => Promise<string>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  stopRequested: () =>
    new Promise((resolve) => {
      const stop = (signal: string) => {
        // A second signal means now: do not wait for the orderly stop.
        process.once(signal as NodeJS.Signals, () => process.exit(130));
        resolve(signal);
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    }),
};

/** How long an orderly stop may take before the process gives up on it. */
const STOP_DEADLINE_MS = 30_000;

/** `--port`'s parser: a TCP port (0 picks a free one), or one line saying what is allowed. */
function portNumber(value: string): string {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return value;
}

/** The flags a command was given, as the settings they set (an invalid one is reported by its flag). */
function flagValues(given: Partial<Record<SettingKey, { flag: string; value: string | undefined }>>) {
  const flags: Partial<Record<SettingKey, CommandLineValue>> = {};
  for (const [key, { flag, value }] of Object.entries(given) as [SettingKey, { flag: string; value: string | undefined }][]) {
    if (value !== undefined) flags[key] = { flag, value };
  }
  return flags;
}

function addServeCommand(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description(
      "run the worker: claude-mem's HTTP routes on 127.0.0.1:CLAUDE_MEM_WORKER_PORT (default 37700 + uid % 100, as claude-mem's hooks), sessions logged in <data dir>/session-events.db",
    )
    .option('--port <port>', 'overrides CLAUDE_MEM_WORKER_PORT', portNumber)
    .option('--host <host>', 'overrides CLAUDE_MEM_WORKER_HOST')
    .option('--data-dir <dir>', 'overrides CLAUDE_MEM_DATA_DIR')
    .option('--inspect [url]', `stream every session actor to a Stately inspector relay (default ${DEFAULT_INSPECTOR_URL})`)
    .option('--engine <engine>', 'what runs the sessions: embedded (this process, SQLite) or restate (overrides CLAUDE_MEM_ENGINE)')
    .option('--restate-ingress <url>', "a Restate cluster's ingress, for --engine restate (overrides CLAUDE_MEM_RESTATE_INGRESS_URL)")
    .option(
      '--restate-admin <url>',
      'also serve the session services and register them with this Restate admin API (overrides CLAUDE_MEM_RESTATE_ADMIN_URL)',
    )
    .action(
      async (options: {
        port?: string;
        host?: string;
        dataDir?: string;
        inspect?: string | true;
        engine?: string;
        restateIngress?: string;
        restateAdmin?: string;
      }) => {
        const flags = flagValues({
          CLAUDE_MEM_WORKER_PORT: { flag: '--port', value: options.port },
          CLAUDE_MEM_WORKER_HOST: { flag: '--host', value: options.host },
          CLAUDE_MEM_DATA_DIR: { flag: '--data-dir', value: options.dataDir },
          CLAUDE_MEM_INSPECT: { flag: '--inspect', value: options.inspect === true ? 'true' : options.inspect },
          CLAUDE_MEM_ENGINE: { flag: '--engine', value: options.engine },
          CLAUDE_MEM_RESTATE_INGRESS_URL: { flag: '--restate-ingress', value: options.restateIngress },
          CLAUDE_MEM_RESTATE_ADMIN_URL: { flag: '--restate-admin', value: options.restateAdmin },
        });
        const config = loadConfig({ env: io.env, flags });
        // The worker logs JSON lines on stdout (pino); `| npx pino-pretty` makes them readable.
        const worker = await startWorker(config);
        const signal = await io.stopRequested();
        worker.logger.info({ signal }, 'stop requested');
        const deadline = setTimeout(() => {
          worker.logger.error('the orderly stop took too long; exiting anyway');
          process.exit(1);
        }, STOP_DEADLINE_MS);
        deadline.unref();
        await worker.stop({ drainMs: config.shutdownDrainMs });
        clearTimeout(deadline);
      },
    );
}

function addRestateServiceCommand(program: Command, io: CliIo): void {
  program
    .command('restate-service')
    .description(
      'serve the session services to a Restate cluster (agent calls run here): on CLAUDE_MEM_RESTATE_SERVICE_PORT, registered with CLAUDE_MEM_RESTATE_ADMIN_URL when set',
    )
    .option('--port <port>', 'overrides CLAUDE_MEM_RESTATE_SERVICE_PORT', portNumber)
    .option('--restate-admin <url>', 'register with this Restate admin API (overrides CLAUDE_MEM_RESTATE_ADMIN_URL)')
    .action(async (options: { port?: string; restateAdmin?: string }) => {
      const config = loadConfig({
        env: io.env,
        flags: flagValues({
          CLAUDE_MEM_RESTATE_SERVICE_PORT: { flag: '--port', value: options.port },
          CLAUDE_MEM_RESTATE_ADMIN_URL: { flag: '--restate-admin', value: options.restateAdmin },
        }),
      });
      const { restate } = config;
      const logger = pino({ level: config.logLevel, base: { service: 'session-lifecycle', pid: process.pid } });
      const providers = openProviders(config, { logger: logger.child({ component: 'agent' }) });
      let served: Awaited<ReturnType<typeof serveSessionServices>>;
      let memories: Awaited<ReturnType<typeof openMemoryDatabase>>;
      try {
        // Each reply's memories are written from here, once (CLAUDE_MEM_POSTGRES_URL; none without it).
        memories = await openMemoryDatabase(config, logger);
        try {
          served = await serveSessionServices(config, { agent: providers.agent, logger, memories });
        } catch (error) {
          await memories?.close();
          throw error;
        }
      } catch (error) {
        await providers.close();
        throw error;
      }
      const { service, advertisedUrl: advertised } = served;
      io.out(
        `Session services on ${service.url}${restate.adminUrl === undefined ? ` (register ${advertised} with your Restate admin API)` : `, registered with ${restate.adminUrl} as ${advertised}`}. Ctrl-C stops them.`,
      );
      await io.stopRequested();
      await service.close();
      await memories?.close();
      await providers.close();
    });
}

function addInspectorCommand(program: Command, io: CliIo): void {
  program
    .command('inspector')
    .description('run a loopback relay between the worker and the Stately inspector in your browser')
    .option('--port <port>', 'port of the relay', portNumber, '7777')
    .action(async (options: { port: string }) => {
      const relay = await startInspectorRelay({ port: Number(options.port) });
      io.out(
        [
          `Inspector relay on ${relay.wsUrl} (loopback only).`,
          `1. Start the worker with it:  npm start -- --inspect ${relay.wsUrl}   (or CLAUDE_MEM_INSPECT=${relay.wsUrl} npm start)`,
          `2. Open ${relay.pageUrl} in a browser. The page embeds the Stately inspector from stately.ai,`,
          '   so that browser needs to be online; the relay and the worker do not.',
          'Ctrl-C stops the relay.',
        ].join('\n'),
      );
      await io.stopRequested();
      await relay.stop();
    });
}

/** A failure the user can act on: printed as its message, exit code 1. */
class UsageError extends Error {}

function addReplayCommand(program: Command, io: CliIo): void {
  program
    .command('replay')
    .description("print a session's timeline from the event log: every event, the state after it, and why it ended")
    .argument('<session>', 'a sessionDbId (number) or a contentSessionId')
    .option('--data-dir <dir>', 'the data directory (default: CLAUDE_MEM_DATA_DIR, then ~/.claude-mem)')
    .option('--db <file>', 'the event log itself (default: <data dir>/session-events.db)')
    .option('--json', 'print the timeline as JSON')
    .action((session: string, options: { dataDir?: string; db?: string; json?: boolean }) => {
      const path = options.db ?? eventLogPath(options.dataDir ?? resolveDataDir({ env: io.env }));
      if (!existsSync(path)) {
        const engine = configuredEngine(io.env, options.dataDir);
        if (options.db === undefined && engine !== undefined && !ENGINES[engine].capabilities.localLog) {
          throw new UsageError(
            `no event log at ${path}: the sessions run on ${ENGINES[engine].title} (CLAUDE_MEM_ENGINE=${engine}), which keeps no log here. ` +
              "Every event of a session: GET /api/sessions/<sessionDbId>/events on the worker; its timeline: the dashboard's session page.",
          );
        }
        throw new UsageError(`no event log at ${path}: pass --data-dir or --db, or set CLAUDE_MEM_DATA_DIR`);
      }
      // Read-only: no ownership is taken, so this works beside the worker that owns the log.
      const store = openSqliteStore(path, { readOnly: true });
      try {
        const stored = /^\d+$/.test(session) ? store.getSession(Number(session)) : store.findSession(session);
        if (stored === undefined) throw new UsageError(`no session ${session} in ${path}`);
        const timeline = sessionTimeline(store, stored.sessionDbId)!;
        io.out(options.json ? JSON.stringify(timeline, null, 2) : formatTimeline(timeline));
      } finally {
        store.close();
      }
    });
}

/** What a command reports besides its output: its exit code (0 unless it sets one). */
interface Outcome {
  code: number;
}

/** The home directory of the environment the command runs in (~/.claude and ~/.claude-mem are found there). */
function homeOf(io: CliIo): { home?: string } {
  return io.env.HOME ? { home: io.env.HOME } : {};
}

/**
 * Copies claude-mem's memories from `database` into the store beside this worker's log in `dataDir`;
 * resolves with the line that says what was added. Opening the log takes its ownership, so a running
 * worker is named and nothing is touched.
 */
async function importFromClaudeMem({ dataDir, database }: { readonly dataDir: string; readonly database: string }): Promise<string> {
  const log = openSqliteStore(eventLogPath(dataDir));
  try {
    const memories = openSqliteMemories(log);
    const report = await importClaudeMem(memories, database);
    await memories.close();
    return importedLine(report, database, log.location);
  } catch (error) {
    if (error instanceof ClaudeMemImportError) throw new UsageError(error.message);
    throw error;
  } finally {
    log.close();
  }
}

/** The same into a Restate cluster's memory database (`--postgres-url`): the workers may run meanwhile. */
async function importIntoPostgres({ postgresUrl, database }: { readonly postgresUrl: string; readonly database: string }): Promise<string> {
  const parsed = SETTINGS.CLAUDE_MEM_POSTGRES_URL.schema.safeParse(postgresUrl);
  if (!parsed.success || parsed.data === undefined) {
    throw new UsageError(
      `--postgres-url ${JSON.stringify(postgresUrl)} is not allowed: expected ${SETTINGS.CLAUDE_MEM_POSTGRES_URL.allowed}`,
    );
  }
  let memories: Awaited<ReturnType<typeof openPostgresMemories>>;
  try {
    memories = await openPostgresMemories({ connectionString: parsed.data });
  } catch (error) {
    throw new UsageError(`cannot open the memories in ${describeConnection(parsed.data)}: ${(error as Error).message}`);
  }
  try {
    return importedLine(await importClaudeMem(memories, database), database, memories.description.location);
  } catch (error) {
    if (error instanceof ClaudeMemImportError) throw new UsageError(error.message);
    throw error;
  } finally {
    await memories.close();
  }
}

function importedLine(report: { added: { observations: number; summaries: number }; skipped: number }, from: string, into: string): string {
  return (
    `Imported ${report.added.observations} observations and ${report.added.summaries} summaries from ${from} into ${into}` +
    (report.skipped > 0 ? ` (${report.skipped} imported before, skipped)` : '') +
    '.'
  );
}

function addClaudeMemCommands(program: Command, io: CliIo, outcome: Outcome): void {
  program
    .command('install')
    .description(
      "switch to this worker: `install claude-mem` pins the port claude-mem's hooks call, says whether claude-mem's own worker runs and how to stop it, imports its memories; safe to run again",
    )
    .argument('<what>', 'what to switch from: claude-mem')
    .action(async (what: string) => {
      if (what !== 'claude-mem') throw new UsageError(`cannot install ${JSON.stringify(what)}: the one thing to switch from is claude-mem`);
      const report = await installClaudeMem({ env: io.env, ...homeOf(io), importMemories: importFromClaudeMem });
      io.out(formatReport(report));
      outcome.code = report.exitCode;
    });
  program
    .command('doctor')
    .description("say what is found: settings problems, claude-mem's hooks and the port they call, who serves it, claude-mem's own worker")
    .action(async () => {
      const report = await doctor({ env: io.env, ...homeOf(io) });
      io.out(formatReport(report));
      outcome.code = report.exitCode;
    });
  program
    .command('import')
    .description("copy another memory store into this worker's: `import claude-mem` reads claude-mem's database (read-only)")
    .argument('<source>', 'what to import from: claude-mem')
    .option('--db <file>', "claude-mem's database (default: <data dir>/claude-mem.db)")
    .option('--data-dir <dir>', 'the data directory of this worker (default: CLAUDE_MEM_DATA_DIR, then ~/.claude-mem)')
    .option('--postgres-url <url>', "into a Restate cluster's memories in this PostgreSQL database instead of the worker's event log")
    .action(async (source: string, options: { db?: string; dataDir?: string; postgresUrl?: string }) => {
      if (source !== 'claude-mem') throw new UsageError(`cannot import from ${JSON.stringify(source)}: the one source is claude-mem`);
      const dataDir = options.dataDir ?? resolveDataDir({ env: io.env });
      const database = options.db ?? join(dataDir, 'claude-mem.db');
      if (!existsSync(database)) throw new UsageError(`no claude-mem database at ${database}: pass --db <file>`);
      io.out(
        options.postgresUrl === undefined
          ? await importFromClaudeMem({ dataDir, database })
          : await importIntoPostgres({ postgresUrl: options.postgresUrl, database }),
      );
    });
}

/** The engine the configuration names, if it can be read (replay must work even when some setting is invalid). */
function configuredEngine(env: NodeJS.ProcessEnv, dataDir: string | undefined): EngineName | undefined {
  try {
    return loadConfig({ env, ...(dataDir === undefined ? {} : { flags: { CLAUDE_MEM_DATA_DIR: { flag: '--data-dir', value: dataDir } } }) })
      .engine;
  } catch {
    return undefined;
  }
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = new Command('session-lifecycle')
    .description('Long-lived AI-agent sessions in memory, without leaks')
    .version(packageVersion(), '-v, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(text.trimEnd()) });
  // Subcommands made with .command() inherit exitOverride and the output above.
  addServeCommand(program, io);
  addRestateServiceCommand(program, io);
  addReplayCommand(program, io);
  addInspectorCommand(program, io);
  const outcome: Outcome = { code: 0 };
  addClaudeMemCommands(program, io, outcome);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (
      error instanceof UsageError ||
      error instanceof ConfigError ||
      error instanceof EventStoreError ||
      error instanceof WorkerStartError ||
      error instanceof InspectorRelayError
    ) {
      io.err(`session-lifecycle: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** True when this file is the program being run (also through the npm bin symlink), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`session-lifecycle: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
