/**
 * Owns `session-lifecycle doctor`: what it finds, in plain lines, each opening with `ok`, `note` or
 * `problem` (a problem is something that keeps claude-mem's hooks from reaching this worker, or keeps
 * the worker from starting); the exit code is 1 when there is one.
 * May not: change anything (install.ts does).
 */
import { ConfigError, describeMisspelling } from '../config/index.js';
import { claudeMemStopCommand } from './discover.js';
import { describeOwner } from './probe.js';
import { type Survey, type SurveyOptions, survey } from './survey.js';

export interface Finding {
  readonly level: 'ok' | 'note' | 'problem';
  readonly text: string;
}

export interface Report {
  readonly findings: readonly Finding[];
  /** 0 when nothing is a problem, else 1. */
  readonly exitCode: number;
}

export function formatReport(report: Report): string {
  return report.findings.map((finding) => `${finding.level.padEnd(7)} ${finding.text}`).join('\n');
}

export function reportOf(findings: readonly Finding[]): Report {
  return { findings, exitCode: findings.some((finding) => finding.level === 'problem') ? 1 : 0 };
}

/** What the settings file says: how many keys, which this worker reads, what is wrong. */
export function settingsFindings(found: Survey): Finding[] {
  const findings: Finding[] = [];
  if (found.config instanceof ConfigError) {
    findings.push({ level: 'problem', text: `settings: ${found.config.message}` });
    return findings;
  }
  const { ignoredKeys, misspellings } = found.config.notices;
  const { total, ours } = found.settingsKeys;
  findings.push({
    level: 'ok',
    text:
      total === 0
        ? `settings: no keys in ${found.settingsFile} (defaults apply)`
        : `settings: ${found.settingsFile}: ${total} keys, ${ours} read by this worker, ${ignoredKeys.length} claude-mem's own (ignored); the worker starts with them`,
  });
  for (const misspelling of misspellings) findings.push({ level: 'note', text: `settings: ${describeMisspelling(misspelling)}` });
  return findings;
}

/** Which hooks run, the port they call, who serves it, and claude-mem's own worker. */
export function hooksAndPortFindings(found: Survey): Finding[] {
  const findings: Finding[] = [];
  const hooks = found.plugins[0];
  const at = `127.0.0.1:${found.hooksPort}`;
  if (hooks === undefined) {
    findings.push({
      level: 'note',
      text: `hooks: claude-mem's plugin is not installed under ${found.claudeDir}/plugins; hooks that call ${at} reach this worker there`,
    });
  } else {
    findings.push({ level: 'ok', text: `hooks: claude-mem ${hooks.version}'s hooks (${hooks.root}) call ${at}` });
  }
  if (found.workerPort !== found.hooksPort) {
    findings.push({
      level: 'problem',
      text: `port: this worker listens on ${found.workerPort} but the hooks call ${found.hooksPort}: set CLAUDE_MEM_WORKER_PORT=${found.hooksPort} in ${found.settingsFile} (both read it), or run session-lifecycle install claude-mem`,
    });
  }
  const owner = found.owner;
  const stop = claudeMemStopCommand(hooks);
  switch (owner.kind) {
    case 'session-lifecycle':
      findings.push({ level: 'ok', text: `port ${found.hooksPort}: served by ${describeOwner(owner)}: the hooks reach this worker` });
      break;
    case 'nobody':
      findings.push({
        level: 'note',
        text: `port ${found.hooksPort}: nothing listens there: start this worker (\`npm start\`, or \`npx session-lifecycle serve\`); while nothing does, claude-mem's hooks start claude-mem's own worker there`,
      });
      break;
    case 'claude-mem':
      findings.push({
        level: 'problem',
        text: `port ${found.hooksPort}: served by ${describeOwner(owner)}, not by this worker: stop it with \`${stop}\`, then start this worker`,
      });
      break;
    case 'other':
      findings.push({
        level: 'problem',
        text: `port ${found.hooksPort}: held by ${describeOwner(owner)}: free it, or choose another CLAUDE_MEM_WORKER_PORT`,
      });
      break;
  }
  const record = found.claudeMemWorker;
  if (record === undefined) findings.push({ level: 'ok', text: "claude-mem's worker: not running (no worker.pid)" });
  else if (!record.alive) {
    findings.push({
      level: 'note',
      text: `claude-mem's worker: ${record.file} names pid ${record.pid}, which is not running; claude-mem's next hook removes it (so does session-lifecycle install claude-mem)`,
    });
  } else if (owner.kind !== 'claude-mem' || owner.pid !== record.pid) {
    findings.push({
      level: 'problem',
      text: `claude-mem's worker: running (pid ${record.pid}${record.port === undefined ? '' : `, port ${record.port}`}): stop it with \`${stop}\``,
    });
  }
  return findings;
}

export async function doctor(options: SurveyOptions): Promise<Report> {
  const found = await survey(options);
  return reportOf([...settingsFindings(found), ...hooksAndPortFindings(found)]);
}
