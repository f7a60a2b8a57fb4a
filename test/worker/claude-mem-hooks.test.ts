/**
 * claude-mem 8.5.x's hooks against the worker on its embedded engine: the request sequence and the
 * answers they read (test/support/claude-mem-session.ts; test/cluster/worker-front.test.ts runs the
 * same sequence against a worker on Restate and compares the answers).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { claudeMemPrivatePrompt, claudeMemSessionOfTwoPrompts } from '../support/claude-mem-session.js';
import { useTempDir } from '../support/tmp.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  worker = undefined;
});

describe('claude-mem 8.5.x hooks against this worker', () => {
  it('get the answers they read, in order, for a whole session of two prompts', async () => {
    worker = await startTestWorker(tempDir());
    await claudeMemSessionOfTwoPrompts(worker.call, worker.port);
    // And the log has each reply once: as many as the calls the agent answered.
    const replies = worker.store.readEvents(1).filter((e) => e.type === 'xstate.done.actor.agent').length;
    expect(worker.registry.get({ sessionDbId: 1 })!.counters.messagesAppended).toBe(2 * replies);
  });

  it('answer a private prompt as claude-mem does, and record nothing of it', async () => {
    worker = await startTestWorker(tempDir());
    await claudeMemPrivatePrompt(worker.call);
    expect(worker.store.readEvents(1)).toEqual([]);
    expect(JSON.stringify(worker.store.getSession(1))).not.toContain('hunter2');
  });
});
