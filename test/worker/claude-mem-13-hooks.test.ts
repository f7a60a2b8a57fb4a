/**
 * claude-mem 13.25.3's own hook client (the registry's package, run by the registry's bun, each hook as
 * its hooks.json runs it) against this worker, in a home directory laid out as a user's: claude-mem
 * installed where Claude Code keeps plugins, and the settings.json claude-mem itself writes. The worker
 * starts first, on that settings.json as it is, so the hooks never start claude-mem's own worker (the
 * test fails, and kills it by pid, if one does).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTING_KEYS } from '../../src/config/index.js';
import {
  type ClaudeCodeHome,
  claudeMemLog,
  type HookRun,
  hookCommands,
  installClaudeMem,
  killProcessesOf,
  runClaudeMemCommand,
  runHook,
} from '../support/claude-mem-13.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';

let claude: ClaudeCodeHome;
let worker: WorkerProcess | undefined;
let projectDir: string;
/** Every hook run, in order, with what it printed and how it exited. */
const runs: (HookRun & { readonly event: string })[] = [];
/** What the second session's SessionStart gave Claude Code to put in front of the model. */
let secondSessionContext: string | undefined;

const FIRST = 'b8a1f3c2-6d4e-4f1a-9c2b-7e5d3a1f0c91';
const SECOND = 'c4e2a7d1-3b9f-4e6c-8a5d-2f1b9c7e3a60';
const LAST_ASSISTANT_MESSAGE = 'The login test no longer sleeps: it waits for the ready event, and all 42 tests pass.';

/** Claude Code's hook input: the fields every hook gets, then the event's own. */
function input(sessionId: string, event: string, fields: Record<string, unknown> = {}) {
  return {
    session_id: sessionId,
    transcript_path: join(projectDir, `${sessionId}.jsonl`),
    cwd: projectDir,
    permission_mode: 'default',
    hook_event_name: event,
    ...fields,
  };
}

async function hook(event: string, body: unknown, tool?: string): Promise<HookRun[]> {
  const done: HookRun[] = [];
  for (const entry of hookCommands(claude, event, tool)) {
    const result = await runHook(claude, entry, body, projectDir);
    runs.push({ ...result, event });
    done.push(result);
  }
  return done;
}

beforeAll(async () => {
  // One home for the whole file: the tests are the steps of one user's switch.
  const home = mkdtempSync(join(tmpdir(), 'session-lifecycle-claude-mem-'));
  claude = await installClaudeMem(home);
  projectDir = join(home, 'projects', 'my-app');
  mkdirSync(join(projectDir, 'src'), { recursive: true });
  // PreToolUse(Read) asks the worker only about files of 1,500 bytes or more.
  writeFileSync(
    join(projectDir, 'src', 'login.ts'),
    `export async function login() {\n${'  // waits for the ready event\n'.repeat(80)}}\n`,
  );
}, 240_000);

afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  if (claude !== undefined) {
    killProcessesOf(claude);
    rmSync(claude.home, { recursive: true, force: true });
  }
});

describe('claude-mem 13.25.3 hooks against this worker', () => {
  it('start on the settings.json claude-mem writes, at the port its hooks call, with nothing said of its own keys but once', async () => {
    // claude-mem writes its settings.json (every default) the first time any of its commands runs.
    const status = await runClaudeMemCommand(claude, 'status', projectDir);
    expect(status.code).toBe(0);
    const settingsFile = join(claude.dataDir, 'settings.json');
    const written = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(written).length).toBeGreaterThan(100);
    expect(written).toMatchObject({
      CLAUDE_MEM_PROVIDER: 'claude',
      CLAUDE_MEM_LOG_LEVEL: 'INFO',
      CLAUDE_MEM_MODEL: 'claude-haiku-4-5-20251001',
    });

    // With nothing set, this worker's port is the one claude-mem's hooks call (37700 + uid % 100).
    const asWritten = loadConfig({ env: {}, home: claude.home });
    expect(asWritten.port).toBe(Number(written.CLAUDE_MEM_WORKER_PORT));
    expect(asWritten.logLevel).toBe('info');
    expect(asWritten.notices.misspellings).toEqual([]);
    const ours = SETTING_KEYS.filter((key) => key in written);
    expect(ours).toEqual(
      expect.arrayContaining(['CLAUDE_MEM_WORKER_PORT', 'CLAUDE_MEM_PROVIDER', 'CLAUDE_MEM_LOG_LEVEL', 'CLAUDE_MEM_DATA_DIR']),
    );
    expect(asWritten.notices.ignoredKeys).toHaveLength(Object.keys(written).length - ours.length);

    // A port of the user's choosing (the default one may be taken on a shared machine): both sides read it from this file.
    const port = await freePort();
    writeFileSync(settingsFile, JSON.stringify({ ...written, CLAUDE_MEM_WORKER_PORT: String(port) }, null, 2));
    // CLAUDE_MEM_PROVIDER=local: the file says `claude`, and the tests have no Claude login.
    worker = await startWorkerProcess({ HOME: claude.home, CLAUDE_MEM_PROVIDER: 'local', CLAUDE_MEM_LOG_LEVEL: 'debug' }, port, {
      portFromSettings: true,
    });
    const ignored = worker.lines.filter((line) => line.includes('keys this worker does not use'));
    expect(ignored).toHaveLength(1);
    expect(JSON.parse(ignored[0]!).level).toBe(20); // debug
    const warnings = worker.lines
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level >= 40 && line.msg !== 'dashboard unavailable'); // an unbuilt dashboard is not the settings' doing
    expect(warnings).toEqual([]);
  });

  it('run a whole session and the next SessionStart, every hook exiting 0, nothing logged as an error, everything processed', async () => {
    expect(worker).toBeDefined();
    const call = worker!.call;

    // SessionStart: `start` (is a worker up?), then `context`.
    const [start, context] = await hook('SessionStart', input(FIRST, 'SessionStart', { source: 'startup' }));
    expect(start!.name).toBe('start');
    expect(JSON.parse(start!.stdout)).toMatchObject({ continue: true, status: 'ready' });
    expect(context!.name).toBe('context');
    expect(JSON.parse(context!.stdout)).toMatchObject({ hookSpecificOutput: { hookEventName: 'SessionStart' } });

    await hook('UserPromptSubmit', input(FIRST, 'UserPromptSubmit', { prompt: 'Fix the flaky login test in test/login.test.ts' }));

    const toolUses = [
      {
        tool_name: 'Read',
        tool_input: { file_path: join(projectDir, 'test', 'login.test.ts') },
        tool_response: { type: 'text', file: { content: 'it("logs in")' } },
      },
      {
        tool_name: 'Bash',
        tool_input: { command: 'npm test -- login', description: 'Run the login tests' },
        tool_response: { stdout: '1 failing', stderr: '', interrupted: false },
      },
      { tool_name: 'Grep', tool_input: { pattern: 'sleep\\(', path: 'src' }, tool_response: { filenames: ['src/login.ts'], numFiles: 1 } },
      {
        tool_name: 'Edit',
        tool_input: { file_path: join(projectDir, 'src', 'login.ts'), old_string: 'await sleep(10)', new_string: 'await ready' },
        tool_response: { filePath: join(projectDir, 'src', 'login.ts'), structuredPatch: [] },
      },
      {
        tool_name: 'Bash',
        tool_input: { command: 'npm test', description: 'Run all tests' },
        tool_response: { stdout: '42 passing', stderr: '', interrupted: false },
      },
    ];
    for (const [i, use] of toolUses.entries()) {
      await hook('PostToolUse', input(FIRST, 'PostToolUse', { ...use, tool_use_id: `toolu_01A${i}` }), use.tool_name);
    }

    await hook(
      'PreToolUse',
      input(FIRST, 'PreToolUse', {
        tool_name: 'Read',
        tool_input: { file_path: join(projectDir, 'src', 'login.ts') },
        tool_use_id: 'toolu_01B0',
      }),
      'Read',
    );

    // Stop: claude-mem reads the last assistant message from Claude Code's transcript.
    writeFileSync(
      join(projectDir, `${FIRST}.jsonl`),
      [
        {
          type: 'user',
          sessionId: FIRST,
          cwd: projectDir,
          message: { role: 'user', content: 'Fix the flaky login test in test/login.test.ts' },
        },
        {
          type: 'assistant',
          sessionId: FIRST,
          cwd: projectDir,
          message: { role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: LAST_ASSISTANT_MESSAGE }] },
        },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    await hook('Stop', input(FIRST, 'Stop', { stop_hook_active: false }));

    const exits = () => runs.map((run) => `${run.event} ${run.name} → ${run.code}`);
    const session = [
      'SessionStart start',
      'SessionStart context',
      'UserPromptSubmit session-init',
      ...toolUses.map(() => 'PostToolUse observation'),
      'PreToolUse file-context',
      'Stop summarize',
    ];
    expect(exits()).toEqual(session.map((line) => `${line} → 0`));
    const errors = () => claudeMemLog(claude).filter((line) => line.includes('[ERROR]'));
    expect(errors()).toEqual([]);

    // The first session's items, processed by this worker: the prompt, five tool uses and the summary.
    let view: { json: Record<string, unknown> & { counters?: Record<string, number> } } | undefined;
    await waitFor(
      async () => {
        view = await call('GET', '/api/sessions/1');
        return view.json?.lifecycle === 'idle' && view.json?.queueLength === 0;
      },
      { what: 'the first session processed', timeoutMs: 20_000 },
    );
    expect(view!.json).toMatchObject({ contentSessionId: FIRST, project: 'my-app', promptNumber: 1 });
    expect(view!.json.counters).toMatchObject({ queued: 7, processed: 7, failed: 0 });

    // SessionStart of a second session in the same project.
    const [, secondContext] = await hook('SessionStart', input(SECOND, 'SessionStart', { source: 'startup' }));
    secondSessionContext = (JSON.parse(secondContext!.stdout) as { hookSpecificOutput: { additionalContext: string } }).hookSpecificOutput
      .additionalContext;

    expect(exits()).toEqual([...session, 'SessionStart start', 'SessionStart context'].map((line) => `${line} → 0`));
    expect(errors()).toEqual([]);
    const log = claudeMemLog(claude);
    expect(log.some((line) => line.includes('INIT_COMPLETE | sessionDbId=1'))).toBe(true);
    expect(log.some((line) => /stale|lazy-spawning|Starting worker daemon|unreachable/i.test(line))).toBe(false);

    // No claude-mem worker was started, nor is one recorded.
    expect(killProcessesOf(claude)).toEqual([]);
    expect(() => readFileSync(join(claude.dataDir, 'worker.pid'))).toThrow();
    expect((await call('GET', '/api/health')).json).toMatchObject({ service: 'session-lifecycle' });
  }, 120_000);

  it("gives the second session the first session's memories", () => {
    expect(secondSessionContext).toBeDefined();
    expect(secondSessionContext).toContain('npm test -- login'); // an observation of a tool use
    expect(secondSessionContext).toContain('src/login.ts'); // the file it edited
    expect(secondSessionContext).toContain('The login test no longer sleeps'); // its summary's last message
  });
});
