/**
 * Our worker for the benchmarks, as `session-lifecycle serve` runs it, with one option:
 *   full          the provider the CLAUDE_MEM_* environment names;
 *   accept-only   an agent that never answers, so that the HTTP benchmark measures accepting
 *                 observations (what the replica's route does) apart from processing them.
 *
 *   node --import tsx bench/server-ours.ts full|accept-only   (configured by the CLAUDE_MEM_* environment)
 */
import { type Agent, loadConfig, startWorker } from '../src/index.js';

const mode = process.argv[2];
const neverAnswers: Agent = {
  name: 'never-answers',
  run: (_request, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
};
const agent = mode === 'accept-only' ? neverAnswers : undefined;
const worker = await startWorker(loadConfig(), agent === undefined ? {} : { agent });
process.once('SIGTERM', () => {
  void worker.stop({ drainMs: 0 }).then(() => process.exit(0));
});
