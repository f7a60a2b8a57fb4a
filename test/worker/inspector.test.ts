import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type InspectorRelay, startInspectorRelay } from '../../src/index.js';
import { useTempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { http, startTestWorker, type TestWorker } from '../support/worker.js';

const tempDir = useTempDir();
let relay: InspectorRelay | undefined;
let worker: TestWorker | undefined;
afterEach(async () => {
  await worker?.stop({ drainMs: 0 });
  await relay?.stop();
  worker = relay = undefined;
});

describe('inspector', () => {
  it('relays every session actor’s inspection events, on loopback, to a browser page', async () => {
    relay = await startInspectorRelay({ port: 0 });
    expect(relay.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const received: { type: string; [key: string]: unknown }[] = [];
    const viewer = new WebSocket(relay.wsUrl);
    viewer.on('message', (data) => received.push(JSON.parse(data.toString())));
    await new Promise((resolve) => viewer.once('open', resolve));

    worker = await startTestWorker(tempDir(), { CLAUDE_MEM_INSPECT: relay.wsUrl });
    await worker.call('POST', '/api/sessions/init', { body: { contentSessionId: 'c', project: 'p', prompt: 'hello' } });
    await waitFor(() => received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"idle"')), {
      what: 'the idle snapshot at the viewer',
      on: [
        (recheck) => {
          viewer.on('message', recheck);
          return () => viewer.off('message', recheck);
        },
      ],
    });
    expect(received.some((e) => e.type === '@xstate.actor')).toBe(true);
    expect(received.filter((e) => e.type === '@xstate.event').map((e) => (e.event as { type: string }).type)).toEqual(
      expect.arrayContaining(['INIT', 'SLOT_GRANTED', 'xstate.done.actor.agent']),
    );
    expect(received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"idle"'))).toBe(true);
    viewer.close();

    const port = Number(new URL(relay.pageUrl).port);
    const page = await http(port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('https://stately.ai/inspect');
    expect(page.text).toContain(relay.wsUrl);
  });
});
