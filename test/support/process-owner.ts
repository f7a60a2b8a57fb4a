/**
 * A process that owns agent child processes, for the tests that kill it with SIGKILL: it starts, through
 * `ChildProcesses`, either a shell command (`shell <record dir> <command>`: a process that starts others)
 * or the `claude` provider against a fake Anthropic API (`claude <record dir> <base url>`), and reports
 * on stdout the pid of what it started as one JSON line.
 */
import { ChildProcesses, createClaudeAgent } from '../../src/agents/index.js';

const [mode, recordDir, target] = process.argv.slice(2);
if (!mode || !recordDir || !target) throw new Error('usage: process-owner shell|claude <record dir> <command|base url>');
const processes = new ChildProcesses({ recordDir, maxRunning: 2 });

if (mode === 'shell') {
  const slot = await processes.reserve(new AbortController().signal);
  const child = slot.spawn({ command: '/bin/sh', args: ['-c', target], env: process.env });
  process.stdout.write(`${JSON.stringify({ pid: child.pid })}\n`);
} else {
  const agent = createClaudeAgent({
    processes,
    env: { ...process.env, ANTHROPIC_BASE_URL: target, ANTHROPIC_API_KEY: 'sk-ant-fake' },
  });
  const item = { id: 'o1', kind: 'observation' as const, prompt: '<tool_use>Read a.ts</tool_use>', promptTokens: 8, queuedAt: 0 };
  void agent.run({ sessionDbId: 1, attempt: 1, item, items: [item], history: [] }, new AbortController().signal).catch(() => {});
  const report = setInterval(() => {
    const [pid] = processes.pids;
    if (pid === undefined) return;
    clearInterval(report);
    process.stdout.write(`${JSON.stringify({ pid })}\n`);
  }, 20);
}
// Lives until it is killed.
setInterval(() => {}, 60_000);
