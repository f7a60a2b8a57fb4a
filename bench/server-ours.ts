/**
 * Our worker for the benchmarks, as `session-lifecycle serve` runs it, with one option:
 *   full          the provider the CLAUDE_MEM_* environment names;
 *   accept-only   an agent that never answers, so that the HTTP benchmark measures accepting
 *                 observations (what the replica's route does) apart from processing them;
 *   anthropic     the cost benchmark's bench-only Anthropic client (bench/lib/anthropic-agent.ts) against
 *                 BENCH_ANTHROPIC_BASE_URL, until the `claude` provider can be named in the environment.
 *
 *   node --import tsx bench/server-ours.ts full|accept-only|anthropic   (configured by the CLAUDE_MEM_* environment)
 */
import { type Agent, loadConfig, startWorker } from '../src/index.js';
import { createBenchAnthropicAgent } from './lib/anthropic-agent.js';

const mode = process.argv[2];
const neverAnswers: Agent = {
  name: 'never-answers',
  run: (_request, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
};
function benchAnthropic(): Agent {
  const baseUrl = process.env.BENCH_ANTHROPIC_BASE_URL;
  if (baseUrl === undefined) throw new Error('server-ours anthropic: set BENCH_ANTHROPIC_BASE_URL');
  return createBenchAnthropicAgent({ baseUrl, model: 'claude-haiku-4-5' });
}
const agent = mode === 'accept-only' ? neverAnswers : mode === 'anthropic' ? benchAnthropic() : undefined;
const worker = await startWorker(loadConfig(), agent === undefined ? {} : { agent });
process.once('SIGTERM', () => {
  void worker.stop({ drainMs: 0 }).then(() => process.exit(0));
});
