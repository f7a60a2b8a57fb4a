/**
 * Owns `session-lifecycle install claude-mem`: switching a claude-mem user to this worker in one step,
 * and safe to run again. It pins the port the hooks call in settings.json (both read it), removes a
 * worker.pid claude-mem left behind for a dead worker (its hooks would take the live worker on the
 * port for a dead one and start their own), says whether claude-mem's own worker runs and how to stop
 * it, imports claude-mem's memories, and says what is left to do. claude-mem's hooks and plugin are
 * left as they are: they drive this worker unchanged.
 * May not: stop or signal claude-mem's worker (the user does, with the command it prints), or start this one.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, writeSetting } from '../config/index.js';
import { claudeMemStopCommand } from './discover.js';
import { type Finding, hooksAndPortFindings, type Report, reportOf, settingsFindings } from './doctor.js';
import { describeOwner } from './probe.js';
import { type SurveyOptions, survey } from './survey.js';

/** Copies claude-mem's memories into this worker's store; resolves with one line saying what it did. */
export type ImportMemories = (source: { readonly dataDir: string; readonly database: string }) => Promise<string>;

export interface InstallOptions extends SurveyOptions {
  /**
   * The memories importer: the CLI passes `session-lifecycle import claude-mem`'s. Without one (a library
   * caller), `install` says the memories were not imported.
   */
  readonly importMemories?: ImportMemories;
}

export async function installClaudeMem(options: InstallOptions): Promise<Report> {
  let found = await survey(options);
  const findings: Finding[] = [...settingsFindings(found)];
  if (found.config instanceof ConfigError) {
    findings.push({ level: 'problem', text: 'nothing changed: fix the setting above, then run this again' });
    return reportOf(findings);
  }

  // The port: both claude-mem's hooks and this worker read CLAUDE_MEM_WORKER_PORT from settings.json.
  if (found.settingsPort === undefined) {
    writeSetting(found.settingsFile, 'CLAUDE_MEM_WORKER_PORT', String(found.hooksPort));
    findings.push({
      level: 'ok',
      text: `settings: CLAUDE_MEM_WORKER_PORT=${found.hooksPort} written to ${found.settingsFile}, where claude-mem's hooks and this worker both read it`,
    });
    found = await survey(options);
  } else {
    findings.push({ level: 'ok', text: `settings: CLAUDE_MEM_WORKER_PORT=${found.settingsPort} already in ${found.settingsFile}` });
  }

  const record = found.claudeMemWorker;
  if (record !== undefined && !record.alive) {
    rmSync(record.file, { force: true });
    findings.push({
      level: 'ok',
      text: `claude-mem's worker: removed ${record.file} (pid ${record.pid} is not running); with it, claude-mem's hooks would take the worker on the port for a dead one and start their own`,
    });
    found = { ...found, claudeMemWorker: undefined };
  }
  findings.push(...hooksAndPortFindings(found));

  findings.push(await importFinding(options, found.dataDir, found.owner.kind === 'session-lifecycle'));

  const hooks = found.plugins[0];
  const blocked = findings.some((finding) => finding.level === 'problem');
  if (blocked) {
    findings.push({ level: 'problem', text: 'not done yet: act on the problems above, then run this again (it changes nothing twice)' });
  } else if (found.owner.kind === 'session-lifecycle') {
    findings.push({ level: 'ok', text: `done: claude-mem's hooks reach ${describeOwner(found.owner)} at 127.0.0.1:${found.hooksPort}` });
  } else {
    findings.push({
      level: 'ok',
      text: `next: start the worker, \`npm start\` in its repository or \`npx session-lifecycle serve\` where it is installed (it listens on 127.0.0.1:${found.hooksPort}); keep it running, or claude-mem's hooks start their own worker there (stop that one with \`${claudeMemStopCommand(hooks)}\`)`,
    });
  }
  return reportOf(findings);
}

async function importFinding(options: InstallOptions, dataDir: string, workerRuns: boolean): Promise<Finding> {
  const database = join(dataDir, 'claude-mem.db');
  if (!existsSync(database)) return { level: 'ok', text: `memories: no claude-mem database at ${database}, nothing to import` };
  if (options.importMemories === undefined) {
    return {
      level: 'note',
      text: `memories: ${database} not imported (no importer given): run \`session-lifecycle import claude-mem\``,
    };
  }
  if (workerRuns) {
    return {
      level: 'note',
      text: `memories: not imported while the worker runs (it owns the log): stop it and run this again, or run \`session-lifecycle import claude-mem\``,
    };
  }
  try {
    return { level: 'ok', text: `memories: ${await options.importMemories({ dataDir, database })}` };
  } catch (error) {
    return { level: 'problem', text: `memories: ${error instanceof Error ? error.message : String(error)}` };
  }
}
