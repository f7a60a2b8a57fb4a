/**
 * `kill -9` of a worker on the Restate engine while hooks are sending: it holds nothing, so everything
 * it acknowledged is in Restate and gets processed; what it did not answer is retried through another
 * worker and applied once. Real processes: restate-server, a session service process, and the workers
 * as `session-lifecycle serve --engine restate` (the CLI), each stopped by its pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import { startRestate } from './support/restate-server.js';
import { type ServiceProcess, startServiceProcess } from './support/service-process.js';

const OBSERVATIONS = 30;

describe('a worker on Restate killed after its answers', () => {
  let restate: Awaited<ReturnType<typeof startRestate>>;
  let service: ServiceProcess | undefined;
  const workers: WorkerProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'restate-worker-kill-'));

  const startFront = async () => {
    const worker = await startWorkerProcess(
      {
        CLAUDE_MEM_DATA_DIR: dataDir,
        CLAUDE_MEM_ENGINE: 'restate',
        CLAUDE_MEM_RESTATE_INGRESS_URL: restate.node().ingressUrl,
        CLAUDE_MEM_LOG_LEVEL: 'warn',
      },
      await freePort(),
    );
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    restate = await startRestate();
    service = await startServiceProcess(await freePort(), {
      CLAUDE_MEM_RESTATE_ADMIN_URL: restate.node().adminUrl,
      CLAUDE_MEM_MAX_CONCURRENT_AGENTS: '1',
    });
  });
  afterAll(async () => {
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) process.kill(worker.child.pid!, 'SIGKILL');
      await worker.exited;
    }
    await service?.kill();
    await restate?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing it acknowledged, and applies a retried request once', async () => {
    const first = await startFront();
    const contentSessionId = 'killed-front';
    const init = await first.call('POST', '/api/sessions/init', { body: { contentSessionId, project: 'p', prompt: 'start' } });
    expect(init.status).toBe(200);
    const { sessionDbId } = init.json;

    const observation = (k: number) => ({
      body: { contentSessionId, tool_name: 'Bash', tool_input: { k }, tool_response: 'ok', cwd: '/', tool_use_id: `tu-${k}` },
    });
    const acknowledged = new Set<number>();
    let killed = false;
    const sent = Array.from({ length: OBSERVATIONS }, async (_, k) => {
      try {
        const answer = await first.call('POST', '/api/sessions/observations', observation(k));
        if (answer.status === 200) acknowledged.add(k);
        // After the tenth acknowledgement, the worker dies with the others in flight.
        if (acknowledged.size === 10 && !killed) {
          killed = true;
          process.kill(first.child.pid!, 'SIGKILL');
        }
      } catch {
        // connection reset by the kill: not acknowledged
      }
    });
    await Promise.all(sent);
    await first.exited;
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(10);
    expect(acknowledged.size).toBeLessThan(OBSERVATIONS);

    // The hooks retry what got no answer, through another worker.
    const second = await startFront();
    for (let k = 0; k < OBSERVATIONS; k++) {
      if (acknowledged.has(k)) continue;
      const answer = await second.call('POST', '/api/sessions/observations', observation(k));
      expect(answer.json).toEqual({ status: 'queued' });
    }
    await waitFor(async () => (await second.call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle', {
      timeoutMs: 30_000,
      what: () => 'every item processed',
    });
    const view = await second.call('GET', `/api/sessions/${sessionDbId}`);
    // The service process logs JSON only, the Restate SDK's own warnings included (besides its one
    // line for the operator on start).
    const printed = service!.output
      .join('')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('Session services on'));
    expect(printed.filter((line) => !line.startsWith('{'))).toEqual([]);
    expect(view.json.counters).toMatchObject({ queued: OBSERVATIONS + 1, processed: OBSERVATIONS + 1, failed: 0 });
    const events = (await second.call('GET', `/api/sessions/${sessionDbId}/events`)).json.events as {
      type: string;
      payload: { item: { toolUseId: string } };
    }[];
    const queued = events.filter((event) => event.type === 'WORK_QUEUED').map((event) => event.payload.item.toolUseId);
    expect(queued.sort()).toEqual(Array.from({ length: OBSERVATIONS }, (_, k) => `tu-${k}`).sort());
    // One reply per agent call (a call answers an item, or a batch of observations that queued behind another).
    const replies = events.filter((event) => event.type === 'xstate.done.actor.agent').length;
    expect(view.json.counters.messagesAppended).toBe(2 * replies);
  });
});
