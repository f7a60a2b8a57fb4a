/**
 * Owns finding claude-mem on this machine as its hooks do: the installed plugin versions (Claude Code's
 * plugin cache, then the marketplace copy), the one whose hooks run, the port those hooks call, and
 * claude-mem's own worker (its pid file).
 * May not: change anything (install.ts does), or talk to a worker (probe.ts does).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { claudeMemDefaultPort } from '../config/index.js';

/** One installed copy of claude-mem's plugin. */
export interface ClaudeMemPlugin {
  readonly version: string;
  /** The folder holding `scripts/worker-service.cjs` and `hooks/hooks.json`. */
  readonly root: string;
  readonly from: 'cache' | 'marketplace';
}

/** Where Claude Code keeps its configuration and plugins: $CLAUDE_CONFIG_DIR, else ~/.claude. */
export function claudeConfigDir(env: NodeJS.ProcessEnv, home = homedir()): string {
  return env.CLAUDE_CONFIG_DIR?.trim() || join(home, '.claude');
}

function versionOf(packageJson: string): string | undefined {
  try {
    const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' && version !== '' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** A version directory may hold the plugin itself or the repository layout with `plugin/` inside. */
function pluginRoot(dir: string): string {
  return existsSync(join(dir, 'plugin', 'scripts')) ? join(dir, 'plugin') : dir;
}

/** Descending, as claude-mem ranks its own copies: major.minor.patch, a release before its prereleases. */
export function compareVersionsDescending(a: string, b: string): number {
  const parts = (version: string) =>
    version
      .split('-')[0]!
      .split('.')
      .map((part) => Number.parseInt(part, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
  return (a.includes('-') ? 1 : 0) - (b.includes('-') ? 1 : 0);
}

/**
 * Every installed copy whose scripts are there, best first: the copy claude-mem's hooks.json runs is the
 * first (the highest version in the cache that Claude Code has not marked `.orphaned_at`, then the
 * marketplace copy).
 */
export function findClaudeMemPlugins(env: NodeJS.ProcessEnv, home = homedir()): ClaudeMemPlugin[] {
  const config = claudeConfigDir(env, home);
  const cache = join(config, 'plugins', 'cache', 'thedotmack', 'claude-mem');
  const found: ClaudeMemPlugin[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(cache).filter((name) => /^\d/.test(name));
  } catch {
    // no cache: nothing installed through it
  }
  for (const name of names) {
    const dir = join(cache, name);
    try {
      if (!statSync(dir).isDirectory() || existsSync(join(dir, '.orphaned_at'))) continue;
    } catch {
      continue;
    }
    const root = pluginRoot(dir);
    if (existsSync(join(root, 'scripts', 'worker-service.cjs'))) found.push({ version: name, root, from: 'cache' });
  }
  found.sort((a, b) => compareVersionsDescending(a.version, b.version));
  const marketplace = join(config, 'plugins', 'marketplaces', 'thedotmack');
  const marketplaceVersion = versionOf(join(marketplace, 'package.json'));
  const marketplaceRoot = pluginRoot(marketplace);
  if (marketplaceVersion !== undefined && existsSync(join(marketplaceRoot, 'scripts'))) {
    found.push({ version: marketplaceVersion, root: marketplaceRoot, from: 'marketplace' });
  }
  return found;
}

/** claude-mem moved its default port from 37777 to 37700 + uid % 100 in 12.3.5. */
export function hooksDefaultPort(hooksVersion: string | undefined, uid: number | undefined): number {
  if (hooksVersion !== undefined && compareVersionsDescending(hooksVersion, '12.3.5') > 0) return 37_777;
  return claudeMemDefaultPort(uid);
}

/** What claude-mem's worker wrote about itself in `<data dir>/worker.pid`, and whether that process lives. */
export interface ClaudeMemWorkerRecord {
  readonly pid: number;
  readonly port: number | undefined;
  readonly startedAt: string | undefined;
  readonly alive: boolean;
  readonly file: string;
}

export function claudeMemWorkerRecord(dataDir: string): ClaudeMemWorkerRecord | undefined {
  const file = join(dataDir, 'worker.pid');
  let record: { pid?: unknown; port?: unknown; startedAt?: unknown };
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as typeof record;
  } catch {
    return undefined;
  }
  if (typeof record.pid !== 'number' || !Number.isInteger(record.pid) || record.pid <= 0) return undefined;
  return {
    pid: record.pid,
    port: typeof record.port === 'number' ? record.port : typeof record.port === 'string' ? Number(record.port) : undefined,
    startedAt: typeof record.startedAt === 'string' ? record.startedAt : undefined,
    alive: isAlive(record.pid),
    file,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command that stops claude-mem's own worker the way claude-mem does it (its `stop` command, run by its bun runner). */
export function claudeMemStopCommand(plugin: ClaudeMemPlugin | undefined): string {
  if (plugin === undefined) return 'npx claude-mem stop';
  const scripts = join(plugin.root, 'scripts');
  return `node ${JSON.stringify(join(scripts, 'bun-runner.js'))} ${JSON.stringify(join(scripts, 'worker-service.cjs'))} stop`;
}
