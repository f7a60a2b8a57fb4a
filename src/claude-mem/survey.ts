/**
 * Owns the picture `doctor` and `install claude-mem` share: this worker's configuration (or why it cannot
 * start), claude-mem's installed hooks and the port they call, who serves that port, and whether
 * claude-mem's own worker runs.
 * May not: change anything, or print (the commands word the picture).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  claudeMemDefaultPort,
  isLoopback,
  loadConfig,
  readSettingsFile,
  resolveDataDir,
  type WorkerConfig,
} from '../config/index.js';
import {
  type ClaudeMemPlugin,
  type ClaudeMemWorkerRecord,
  claudeConfigDir,
  claudeMemWorkerRecord,
  findClaudeMemPlugins,
  hooksDefaultPort,
} from './discover.js';
import { type PortOwner, portOwner } from './probe.js';

export interface SurveyOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly home?: string;
}

export interface Survey {
  /** This worker's configuration, or the error that would stop it at start. */
  readonly config: WorkerConfig | ConfigError;
  readonly dataDir: string;
  readonly settingsFile: string;
  /** The keys settings.json holds (claude-mem writes about 120), and how many of them this worker reads. */
  readonly settingsKeys: { readonly total: number; readonly ours: number };
  /** CLAUDE_MEM_WORKER_PORT as settings.json has it, which both claude-mem's hooks and this worker read. */
  readonly settingsPort: string | undefined;
  readonly claudeDir: string;
  /** Installed copies of claude-mem's plugin, the one whose hooks run first. */
  readonly plugins: readonly ClaudeMemPlugin[];
  /** The port claude-mem's hooks call: settings.json's, else their version's default. */
  readonly hooksPort: number;
  /** This worker's port: its configuration's, else the default. */
  readonly workerPort: number;
  readonly owner: PortOwner;
  readonly claudeMemWorker: ClaudeMemWorkerRecord | undefined;
}

export async function survey(options: SurveyOptions): Promise<Survey> {
  const home = options.home ?? homedir();
  const { env } = options;
  let config: WorkerConfig | ConfigError;
  try {
    config = loadConfig({ env, home });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    config = error;
  }
  const dataDir = config instanceof ConfigError ? resolveDataDir({ env, home }) : config.dataDir;
  const settingsFile = join(dataDir, 'settings.json');
  let file: ReturnType<typeof readSettingsFile> = { values: {}, otherKeys: [] };
  try {
    file = readSettingsFile(settingsFile);
  } catch {
    // unreadable: config holds the error
  }
  const plugins = findClaudeMemPlugins(env, home);
  const settingsPort = file.values.CLAUDE_MEM_WORKER_PORT?.trim();
  // The hooks read the port as claude-mem reads settings: the environment (Claude Code's), then the file.
  const hooksPort = Number(env.CLAUDE_MEM_WORKER_PORT?.trim() || settingsPort || hooksDefaultPort(plugins[0]?.version, process.getuid?.()));
  const workerPort = config instanceof ConfigError ? Number(settingsPort || claudeMemDefaultPort(process.getuid?.())) : config.port;
  const host = config instanceof ConfigError || isLoopback(config.host) ? '127.0.0.1' : wildcardToLoopback(config.host);
  return {
    config,
    dataDir,
    settingsFile,
    settingsKeys: { total: Object.keys(file.values).length + file.otherKeys.length, ours: Object.keys(file.values).length },
    settingsPort,
    claudeDir: claudeConfigDir(env, home),
    plugins,
    hooksPort,
    workerPort,
    owner: Number.isInteger(hooksPort) && hooksPort > 0 ? await portOwner(host, hooksPort) : { kind: 'nobody' },
    claudeMemWorker: claudeMemWorkerRecord(dataDir),
  };
}

/** A worker bound to every address is reached on loopback. */
function wildcardToLoopback(host: string): string {
  return ['0.0.0.0', '::', '[::]'].includes(host) ? '127.0.0.1' : host;
}
