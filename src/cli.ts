#!/usr/bin/env node
/**
 * session-lifecycle's command line:
 *   serve              run the worker (what `npm start` runs)
 *   replay <session>   print a session's timeline from the event log
 */
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError, eventLogPath, resolveDataDir } from './config/index.js';
import { formatTimeline, sessionTimeline } from './replay/index.js';
import { EventStoreError, openSqliteStore } from './store/index.js';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
};

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
        throw new UsageError(`no event log at ${path}: pass --data-dir or --db, or set CLAUDE_MEM_DATA_DIR`);
      }
      const store = openSqliteStore(path);
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

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = new Command('session-lifecycle')
    .description('Long-lived AI-agent sessions in memory, without leaks')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text.trimEnd()), writeErr: (text) => io.err(text.trimEnd()) });
  // Subcommands made with .command() inherit exitOverride and the output above.
  addReplayCommand(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof EventStoreError) {
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
