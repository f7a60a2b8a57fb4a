/**
 * claude-mem 13's own hook client, as a user has it: the registry's `claude-mem` package (its built
 * plugin: hooks.json, bun-runner.js, worker-service.cjs), laid out under a home directory exactly where
 * Claude Code keeps plugins, with `bun` (the registry's, a devDependency) where claude-mem's runner finds
 * it; each hook run as hooks.json has Claude Code run it (`bash -c <command>`, the hook's JSON on stdin,
 * CLAUDE_PLUGIN_ROOT set, killed after the hook's own timeout).
 *
 * The package is not a devDependency: its npx CLI depends on better-auth, whose peer ranges send npm's
 * resolver searching for many minutes (measured: over 20 with `npm install`, over 8 with `npm ci`). The
 * tests need only its plugin, so `npm pack` fetches the tarball (npm's cache makes later runs offline),
 * its integrity is checked against the registry's, and it is unpacked once into node_modules/.cache.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './children.js';

export const CLAUDE_MEM_VERSION = '13.25.3';
/** dist.integrity of claude-mem@13.25.3 on the npm registry. */
const CLAUDE_MEM_INTEGRITY = 'sha512-Hqa33Vv8YJ5fnaHzZc3HC3JihHagHji5O9R66ZBIKn3DDPOlaDfI5X2oxuSdtp7kRMsEpMc2p7wMXPEe0kZG9g==';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cacheDir = join(root, 'node_modules', '.cache', `claude-mem-${CLAUDE_MEM_VERSION}`);
const bunBinary = join(root, 'node_modules', 'bun', 'bin', 'bun.exe');

function run(file: string, args: readonly string[], options: { cwd?: string; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = execFile(
      file,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${file} ${args.join(' ')} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    );
    killOnExit(child);
  });
}

/** The unpacked package (`…/package`), fetched and checked the first time. */
export async function claudeMemPackage(): Promise<string> {
  const unpacked = join(cacheDir, 'package');
  if (existsSync(join(unpacked, 'plugin', 'scripts', 'worker-service.cjs'))) return unpacked;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, 'fetch-'));
  try {
    // npm as the test run's own npm (npm_execpath) when there is one, else the one on PATH.
    const npmCli = process.env.npm_execpath;
    const packArgs = ['pack', `claude-mem@${CLAUDE_MEM_VERSION}`, '--pack-destination', work, '--json', '--silent'];
    const out =
      npmCli?.endsWith('.js') || npmCli?.endsWith('.cjs')
        ? await run(process.execPath, [npmCli, ...packArgs], { cwd: work, timeoutMs: 180_000 })
        : await run('npm', packArgs, { cwd: work, timeoutMs: 180_000 });
    const [packed] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
    const tarball = join(work, packed!.filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== CLAUDE_MEM_INTEGRITY)
      throw new Error(`claude-mem@${CLAUDE_MEM_VERSION}: integrity ${integrity}, expected ${CLAUDE_MEM_INTEGRITY}`);
    await run('tar', ['-xzf', tarball, '-C', work], { timeoutMs: 60_000 });
    try {
      renameSync(join(work, 'package'), unpacked);
    } catch (error) {
      // Another test process unpacked it first: theirs is the same bytes.
      if (!existsSync(join(unpacked, 'plugin', 'scripts', 'worker-service.cjs'))) throw error;
    }
    return unpacked;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface ClaudeCodeHome {
  readonly home: string;
  /** `$HOME/.claude/plugins/cache/thedotmack/claude-mem/13.25.3`: where Claude Code installs the plugin. */
  readonly pluginRoot: string;
  /** `$HOME/.claude-mem`, claude-mem's data directory (its settings.json, logs, worker.pid). */
  readonly dataDir: string;
}

/**
 * claude-mem 13.25.3 installed in `home` as Claude Code installs it: the plugin in Claude Code's plugin
 * cache, its one runtime dependency (zod, which claude-mem's Setup hook would install) resolvable from
 * it, and bun in ~/.local/bin (first on the PATH hooks.json builds).
 */
export async function installClaudeMem(home: string): Promise<ClaudeCodeHome> {
  const unpacked = await claudeMemPackage();
  const pluginRoot = join(home, '.claude', 'plugins', 'cache', 'thedotmack', 'claude-mem', CLAUDE_MEM_VERSION);
  cpSync(join(unpacked, 'plugin'), pluginRoot, { recursive: true });
  mkdirSync(join(pluginRoot, 'node_modules'), { recursive: true });
  symlinkSync(join(root, 'node_modules', 'zod'), join(pluginRoot, 'node_modules', 'zod'), 'dir');
  mkdirSync(join(home, '.local', 'bin'), { recursive: true });
  symlinkSync(bunBinary, join(home, '.local', 'bin', 'bun'));
  return { home, pluginRoot, dataDir: join(home, '.claude-mem') };
}

/** The environment Claude Code gives a plugin's hooks: the user's, with no CLAUDE* variable of whoever runs the tests. */
function hookEnvironment(claude: ClaudeCodeHome, projectDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CLAUDE') && !key.startsWith('npm_')) env[key] = value;
  return {
    ...env,
    HOME: claude.home,
    CLAUDE_PLUGIN_ROOT: claude.pluginRoot,
    CLAUDE_PROJECT_DIR: projectDir,
    // What a user who declines claude-mem's telemetry sets; the tests run without network.
    DO_NOT_TRACK: '1',
  };
}

export interface HookRun {
  /** The hook's command as hooks.json names it: the last word of the command (`start`, `context`, …). */
  readonly name: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface HookEntry {
  readonly command: string;
  readonly timeout?: number;
}

/** The commands hooks.json runs for `event` (for PreToolUse, those matching `tool`), in order. */
export function hookCommands(claude: ClaudeCodeHome, event: string, tool?: string): HookEntry[] {
  const config = JSON.parse(readFileSync(join(claude.pluginRoot, 'hooks', 'hooks.json'), 'utf8')) as {
    hooks: Record<string, { matcher?: string; hooks: HookEntry[] }[]>;
  };
  return (config.hooks[event] ?? [])
    .filter(
      (group) =>
        group.matcher === undefined || tool === undefined || new RegExp(`^(${group.matcher === '*' ? '.*' : group.matcher})$`).test(tool),
    )
    .flatMap((group) => group.hooks);
}

/** Runs one hook command as Claude Code does: bash, the JSON on stdin, in the project, killed after its timeout. */
export function runHook(claude: ClaudeCodeHome, entry: HookEntry, input: unknown, projectDir: string): Promise<HookRun> {
  return new Promise((resolve, reject) => {
    const child = killOnExit(
      spawn('bash', ['-c', entry.command], { cwd: projectDir, env: hookEnvironment(claude, projectDir), stdio: 'pipe' }),
    );
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), (entry.timeout ?? 60) * 1_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({
        name: entry.command.trim().split(/\s+/).at(-1)!,
        code,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
    child.stdin!.end(input === undefined ? '' : JSON.stringify(input));
  });
}

/** claude-mem's own CLI command (`status`, …) as its package.json scripts run it, through its bun runner. */
export function runClaudeMemCommand(claude: ClaudeCodeHome, command: string, projectDir: string): Promise<HookRun> {
  const scripts = join(claude.pluginRoot, 'scripts');
  return runHook(
    claude,
    {
      command: `export PATH="$HOME/.local/bin:$PATH"; node "${scripts}/bun-runner.js" "${scripts}/worker-service.cjs" ${command}`,
      timeout: 60,
    },
    undefined,
    projectDir,
  );
}

/** Every line claude-mem logged (its log files under ~/.claude-mem/logs). */
export function claudeMemLog(claude: ClaudeCodeHome): string[] {
  const logs = join(claude.dataDir, 'logs');
  if (!existsSync(logs)) return [];
  return readdirSync(logs)
    .sort()
    .flatMap((file) => readFileSync(join(logs, file), 'utf8').split('\n'))
    .filter(Boolean);
}

/**
 * Processes still running whose command line names this home (a claude-mem worker the hooks would have
 * started: `bun …/worker-service.cjs --daemon`), each SIGKILLed by pid; returns their command lines.
 */
export function killProcessesOf(claude: ClaudeCodeHome): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(join('/proc', entry, 'cmdline'), 'utf8')
        .split('\0')
        .join(' ')
        .trim();
    } catch {
      continue; // gone meanwhile
    }
    if (!commandLine.includes(claude.pluginRoot)) continue;
    found.push(`${entry}: ${commandLine}`);
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
