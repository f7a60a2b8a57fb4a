/**
 * The worker on the Restate engine (`serve --engine restate`), over HTTP, against a real restate-server
 * started from the npm package on loopback: claude-mem's hook sequence with the embedded worker's exact
 * answers, two workers fronting one cluster, and a lost ingress answer retried without applying twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeMemPrivatePrompt, claudeMemSessionOfTwoPrompts, comparable } from '../support/claude-mem-session.js';
import { openStream } from '../support/sse.js';
import { waitFor } from '../support/wait.js';
import { startTestWorker } from '../support/worker.js';
import { startLossyProxy } from './support/lossy-proxy.js';
import { startRestate } from './support/restate-server.js';
import { type RestateTestWorker, startRestateWorker } from './support/worker.js';

const OPENED = { contentSessionId: 'claude-code-session-2', sessionDbId: 2 };

describe('the worker on Restate', () => {
  let restate: Awaited<ReturnType<typeof startRestate>>;
  let front: RestateTestWorker | undefined;
  const closing: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    restate = await startRestate();
    front = await startRestateWorker({ ingressUrl: restate.node().ingressUrl, adminUrl: restate.node().adminUrl });
  });
  afterAll(async () => {
    for (const close of closing.reverse()) await close().catch(() => {});
    await front?.close();
    await restate?.stop();
  });

  it("answers claude-mem's hooks exactly as the embedded worker does", async () => {
    const onRestate = [
      comparable(await claudeMemSessionOfTwoPrompts(front!.call, front!.port), front!.port),
      comparable(await claudeMemPrivatePrompt(front!.call, OPENED), front!.port),
    ];
    const dataDir = mkdtempSync(join(tmpdir(), 'embedded-worker-'));
    const embedded = await startTestWorker(dataDir);
    try {
      const onEmbedded = [
        comparable(await claudeMemSessionOfTwoPrompts(embedded.call, embedded.port), embedded.port),
        comparable(await claudeMemPrivatePrompt(embedded.call, OPENED), embedded.port),
      ];
      expect(onRestate).toEqual(onEmbedded);
    } finally {
      await embedded.stop({ drainMs: 0 });
      rmSync(dataDir, { recursive: true, force: true });
    }
    const health = await front!.call('GET', '/api/health');
    expect(health.json).toMatchObject({ status: 'ok', engine: 'restate', log: { writable: true, location: restate.node().ingressUrl } });
  });

  it('lets two workers front one cluster: the same sessions, no lock between them', async () => {
    // The second worker shares the first one's data directory: on Restate nothing there is owned.
    const second = await startRestateWorker({ ingressUrl: restate.node().ingressUrl, dataDir: front!.dataDir });
    closing.push(() => second.close());
    const workers = [front!, second];
    const contentSessionId = 'shared-by-two-workers';
    const init = await second.call('POST', '/api/sessions/init', { body: { contentSessionId, project: 'p', prompt: 'start' } });
    expect(init.status).toBe(200);
    const { sessionDbId } = init.json;
    // Tool uses alternate between the workers, each acknowledged by whichever got it.
    for (let k = 0; k < 6; k++) {
      const answer = await workers[k % 2]!.call('POST', '/api/sessions/observations', {
        body: { contentSessionId, tool_name: 'Bash', tool_input: { k }, tool_response: 'ok', cwd: '/', tool_use_id: `tu-${k}` },
      });
      expect(answer.json).toEqual({ status: 'queued' });
    }
    // A retry of one of them on the other worker is not new work.
    const retried = await workers[1]!.call('POST', '/api/sessions/observations', {
      body: { contentSessionId, tool_name: 'Bash', tool_input: { k: 0 }, tool_response: 'ok', cwd: '/', tool_use_id: 'tu-0' },
    });
    expect(retried.json).toEqual({ status: 'queued' });
    await waitFor(async () => (await front!.call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle', {
      timeoutMs: 20_000,
      what: () => 'the shared session processed',
    });
    let messagesAppended = 0;
    for (const worker of workers) {
      const view = await worker.call('GET', `/api/sessions/${sessionDbId}`);
      expect(view.json).toMatchObject({ contentSessionId, lifecycle: 'idle', counters: { queued: 7, processed: 7 } });
      messagesAppended = view.json.counters.messagesAppended;
      expect((await worker.call('GET', '/api/sessions')).json.sessions.map((s: { sessionDbId: number }) => s.sessionDbId)).toContain(
        sessionDbId,
      );
    }
    expect((await second.call('DELETE', `/sessions/${sessionDbId}`)).json).toEqual({ status: 'deleted' });
    const gone = await front!.call('GET', `/sessions/${sessionDbId}/status`);
    expect(gone.json).toMatchObject({ status: 'not_found', lifecycle: 'disposed' });
    const events = (await front!.call('GET', `/api/sessions/${sessionDbId}/events`)).json.events as { type: string }[];
    expect(events.filter((event) => event.type === 'WORK_QUEUED')).toHaveLength(6);
    // One reply per agent call (a call answers an item, or a batch of observations that queued behind another).
    const replies = events.filter((event) => event.type === 'xstate.done.actor.agent').length;
    expect(messagesAppended).toBe(2 * replies);
    expect(events.at(-1)!.type).toBe('DELETE');
  });

  it("shows the cluster's sessions on the dashboard: polled, with their history, timeline and disposals", async () => {
    const stream = await openStream(front!.port);
    closing.push(async () => stream.close());
    expect(stream.status).toBe(200);
    const snapshot = await stream.next((message) => message.event === 'snapshot');
    expect(snapshot.data.worker.engine).toMatchObject({ kind: 'restate', location: restate.node().ingressUrl, updates: 'polled' });
    expect(snapshot.data.worker.memoryLimitBytes).toBeNull();
    expect(snapshot.data.stats.dormant).toBeNull();
    const contentSessionId = 'on-the-dashboard';
    const init = await front!.call('POST', '/api/sessions/init', { body: { contentSessionId, project: 'dash', prompt: 'look at me' } });
    const { sessionDbId } = init.json;
    // No event is announced by Restate: the next reading of the list (every 2 s) brings the new row.
    const row = await stream.next(
      (message) => message.event === 'update' && message.data.upserts.some((r: { sessionDbId: number }) => r.sessionDbId === sessionDbId),
      {
        ms: 15_000,
      },
    );
    expect(row.data.upserts.find((r: { sessionDbId: number }) => r.sessionDbId === sessionDbId)).toMatchObject({
      contentSessionId,
      project: 'dash',
    });
    await waitFor(async () => (await front!.call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle', {
      timeoutMs: 20_000,
      what: () => 'idle',
    });
    const detail = await front!.call('GET', `/dashboard/api/sessions/${sessionDbId}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({ sessionDbId, contentSessionId, lifecycle: 'idle', stream: { status: 'live' } });
    expect(detail.json.history.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
    expect(detail.json.timeline.entries.map((e: { event: string }) => e.event)).toContain('INIT');
    // No log on this machine to replay: the page points at the events route instead.
    expect(detail.json.timeline.source).toBe('restate');
    // A disposal reaches the stream's disposal list (read from the cluster's index, also polled).
    await front!.call('DELETE', `/sessions/${sessionDbId}`);
    const disposal = await stream.next(
      (message) =>
        message.event === 'update' && message.data.recentDisposals.some((d: { sessionDbId: number }) => d.sessionDbId === sessionDbId),
      { ms: 15_000 },
    );
    expect(disposal.data.recentDisposals.find((d: { sessionDbId: number }) => d.sessionDbId === sessionDbId)).toMatchObject({
      reason: 'deleted',
    });
    const gone = await front!.call('GET', `/dashboard/api/sessions/${sessionDbId}`);
    expect(gone.json).toMatchObject({ lifecycle: 'disposed', disposal: { reason: 'deleted' }, live: null });
  });

  it('applies a command whose answer was lost once: the retry carries the same idempotency key', async () => {
    // Between this worker and the ingress, the answer of the first enqueue is lost after Restate handled it.
    const proxy = await startLossyProxy(restate.node().ingressUrl, /\/session\/\d+\/enqueue/);
    closing.push(() => proxy.close());
    const lossy = await startRestateWorker({ ingressUrl: proxy.url });
    closing.push(() => lossy.close());
    const contentSessionId = 'lost-answer';
    const init = await lossy.call('POST', '/api/sessions/init', { body: { contentSessionId, project: 'p', prompt: 'start' } });
    const { sessionDbId } = init.json;
    // A summary has no tool_use_id: only the idempotency key keeps a retry from queueing it twice.
    const summary = await lossy.call('POST', '/api/sessions/summarize', { body: { contentSessionId, last_assistant_message: 'done' } });
    expect(summary.status).toBe(200);
    expect(summary.json).toEqual({ status: 'queued' });
    expect(proxy.lost).toHaveLength(1);
    expect(proxy.forwarded.filter((path) => /enqueue/.test(path))).toHaveLength(2);
    await waitFor(async () => (await lossy.call('GET', `/api/sessions/${sessionDbId}`)).json.lifecycle === 'idle', {
      timeoutMs: 20_000,
      what: () => 'the session processed',
    });
    const view = await lossy.call('GET', `/api/sessions/${sessionDbId}`);
    expect(view.json.counters).toMatchObject({ queued: 2, processed: 2 });
    const events = (await lossy.call('GET', `/api/sessions/${sessionDbId}/events`)).json.events as {
      type: string;
      payload: { item: { kind: string } };
    }[];
    expect(events.filter((event) => event.type === 'WORK_QUEUED').map((event) => event.payload.item.kind)).toEqual(['summarize']);
  });
});
