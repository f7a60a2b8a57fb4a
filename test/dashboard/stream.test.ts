/**
 * The event stream is bounded: a client that stops reading costs at most its buffer bound plus one
 * message, then is skipped and closed; a vanished client is forgotten; updates are coalesced; the number
 * of streams is capped. A real registry and a real server on loopback, with small limits.
 */
import { connect, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardPlugin, type StreamLimits, type StreamStatus } from '../../src/dashboard/index.js';
import { createEmbeddedEngine, createMemoryStore, createSessionRegistry, type SessionRegistry } from '../../src/index.js';
import { registerApiDocs } from '../../src/worker/api-docs.js';
import { delayedAgent } from '../support/agents.js';
import { openStream } from '../support/sse.js';
import { waitFor } from '../support/wait.js';

let app: FastifyInstance | undefined;
let registry: SessionRegistry | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await app?.close();
  await registry?.shutdown();
  app = undefined;
  registry = undefined;
});

async function serve(limits: Partial<StreamLimits>): Promise<{ port: number; status: () => Promise<StreamStatus> }> {
  const store = createMemoryStore();
  registry = createSessionRegistry({ agent: delayedAgent(0), store, idleTtlMs: 60_000, graceMs: 1_000, memoryPressure: false });
  app = Fastify();
  // As the worker sets it up: the routes' zod schemas need its compilers.
  await registerApiDocs(app, { version: 'test' });
  await app.register(dashboardPlugin, {
    engine: createEmbeddedEngine({ registry, store }),
    version: 'test',
    idleTtlMs: 60_000,
    graceMs: 1_000,
    maxActiveSessions: 100,
    maxConcurrentAgents: 2,
    memoryLimitPercent: 80,
    streamLimits: limits,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { port, status: async () => (await app!.inject({ url: '/dashboard/api/status' })).json() as StreamStatus };
}

/** A client that asks for the stream and then never reads a byte. */
function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(`GET /dashboard/api/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve(socket);
    });
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

describe('the dashboard stream', () => {
  it('stops writing to a client that stopped reading, keeps it under its bound, and closes it; the others go on', async () => {
    const maxBufferedBytes = 64 * 1024;
    const { port, status } = await serve({ coalesceMs: 20, maxBufferedBytes, stallTimeoutMs: 1_500, heartbeatMs: 60_000 });
    const stalled = await stalledClient(port);
    const reader = await openStream(port);
    await waitFor(async () => (await status()).streams === 2, { what: 'two streams', timeoutMs: 15_000 });

    // Sessions with long names make every message large, so the stalled client's buffers fill quickly.
    const project = 'p'.repeat(4_000);
    let largestMessage = 0;
    let largestBuffered = 0;
    let n = 0;
    await waitFor(
      async () => {
        for (let i = 0; i < 20; i++) await registry!.init({ contentSessionId: `s-${n++}-${'x'.repeat(2_000)}`, project }, { prompt: 'go' });
        const now = await status();
        largestBuffered = Math.max(largestBuffered, ...now.bufferedBytes);
        largestMessage = Math.max(largestMessage, ...reader.messages.map((m) => JSON.stringify(m.data).length));
        return now.closedSlow === 1;
      },
      { what: 'the stalled client to be closed', timeoutMs: 30_000 },
    );
    const after = await status();
    expect(after.streams).toBe(1);
    expect(after.coalesced).toBeGreaterThan(0);
    // Never more than the bound plus one message (the one that crossed it) waited for it.
    expect(largestBuffered).toBeLessThanOrEqual(maxBufferedBytes + largestMessage + 1_024);
    await new Promise((resolve) => stalled.once('close', resolve).resume());

    // The reading client saw every session, live.
    const seen = reader.messages.length;
    await registry!.init({ contentSessionId: 'after-the-stall', project: 'p' }, { prompt: 'go' });
    const update = await reader.next(
      (m) => m.event === 'update' && m.data.upserts.some((r: { contentSessionId: string }) => r.contentSessionId === 'after-the-stall'),
      {
        from: seen,
      },
    );
    // (The registry holds 100 live sessions: older idle ones were evicted for capacity, and the reader saw why.)
    expect(update.data.stats.live).toBe(registry!.stats().live);
    expect(
      reader.messages.some((m) => m.event === 'update' && m.data.recentDisposals.some((d: { reason: string }) => d.reason === 'capacity')),
    ).toBe(true);
    reader.close();
  });

  it('sends a snapshot again to a client that caught up after falling behind', async () => {
    const { port, status } = await serve({ coalesceMs: 20, maxBufferedBytes: 32 * 1024, stallTimeoutMs: 60_000, heartbeatMs: 60_000 });
    const slow = await stalledClient(port);
    let received = '';
    slow.setEncoding('utf8');
    slow.on('data', (chunk: string) => {
      received += chunk;
    });
    await waitFor(async () => (await status()).streams === 1, { what: 'the stream', timeoutMs: 15_000 });
    let n = 0;
    await waitFor(
      async () => {
        for (let i = 0; i < 20; i++)
          await registry!.init({ contentSessionId: `c-${n++}-${'y'.repeat(2_000)}`, project: 'q'.repeat(4_000) }, { prompt: 'go' });
        return (await status()).coalesced > 0;
      },
      { what: 'an update to be skipped', timeoutMs: 30_000 },
    );
    slow.resume();
    await waitFor(async () => received.split('event: snapshot').length - 1 >= 2, { what: 'a second snapshot', timeoutMs: 15_000 });
    const lastSnapshot = received.slice(received.lastIndexOf('event: snapshot'));
    const data = JSON.parse(/^data: (.*)$/m.exec(lastSnapshot)![1]!);
    expect(data.sessions.length).toBe(registry!.list().length);
    expect((await status()).closedSlow).toBe(0);
  });

  it('forgets a client that went away, and listens to the registry only while someone watches', async () => {
    const { port, status } = await serve({ coalesceMs: 20 });
    const client = await openStream(port);
    await client.next((m) => m.event === 'snapshot');
    expect((await status()).streams).toBe(1);
    client.close();
    await waitFor(async () => (await status()).streams === 0, { what: 'the stream to be forgotten', timeoutMs: 15_000 });
    // Events with nobody watching: nothing is gathered for the next client but the snapshot.
    await registry!.init({ contentSessionId: 'unwatched', project: 'p' }, { prompt: 'go' });
    const next = await openStream(port);
    const snapshot = await next.next((m) => m.event === 'snapshot');
    expect(snapshot.data.sessions.map((r: { contentSessionId: string }) => r.contentSessionId)).toEqual(['unwatched']);
    next.close();
  });

  it('coalesces a burst of events into a few messages', async () => {
    const { port } = await serve({ coalesceMs: 300 });
    const client = await openStream(port);
    await client.next((m) => m.event === 'snapshot');
    const before = client.messages.length;
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => registry!.init({ contentSessionId: `burst-${i}`, project: 'p' }, { prompt: 'go' })),
    );
    await waitFor(async () => registry!.list().every((view) => view.lifecycle === 'idle'), {
      what: 'the burst to settle',
      timeoutMs: 15_000,
    });
    const last = await client.next((m) => m.event === 'update' && m.data.stats.byLifecycle.idle === 50, { from: before });
    const updates = client.messages.slice(before).filter((m) => m.event === 'update');
    // 50 sessions × (created, INIT, SLOT_GRANTED, agent done) = 200 events, in at most a handful of messages.
    expect(updates.length).toBeLessThanOrEqual(5);
    const upserted = new Set(updates.flatMap((m) => m.data.upserts.map((r: { sessionDbId: number }) => r.sessionDbId)));
    expect(upserted.size).toBe(50);
    expect(last.data.stats.live).toBe(50);
    client.close();
  });

  it('refuses streams beyond its limit with 503 and Retry-After', async () => {
    const { port, status } = await serve({ maxStreams: 2 });
    const a = await openStream(port);
    const b = await openStream(port);
    const c = await openStream(port);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 503]);
    expect(c.headers['retry-after']).toBe('5');
    await c.closed;
    expect(JSON.parse(c.body())).toMatchObject({ error: 'too many dashboard streams' });
    expect((await status()).refused).toBe(1);
    a.close();
    b.close();
  });
});
