/**
 * The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core) against a real
 * worker with a short TTL: sessions appear, move idle → expiring → disposed on screen without a reload,
 * the disposal chart counts them by reason, a session's page lights its current state and lists the
 * memories its replies became, the memories view finds them, and nothing but loopback is ever asked for. With DASHBOARD_SCREENSHOTS=1 (`npm run docs:dashboard`) the screenshots
 * of docs/dashboard.md are taken here.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, CHROMIUM, chromiumInstalled, launchBrowser } from '../support/browser.js';
import { freePort, startWorkerProcess, type WorkerProcess } from '../support/process.js';
import { startTestWorker, type TestWorker } from '../support/worker.js';

const DOCS = new URL('../../docs/', import.meta.url).pathname;
const shots = process.env.DASHBOARD_SCREENSHOTS === '1' ? DOCS : mkdtempSync(join(tmpdir(), 'dashboard-shots-'));
const dataDirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'session-lifecycle-'));
  dataDirs.push(dir);
  return dir;
};

let browser: Browser | undefined;
let worker: WorkerProcess | undefined;
let tokenWorker: TestWorker | undefined;

beforeAll(async () => {
  if (!chromiumInstalled()) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does so when it is missing)`);
  browser = await launchBrowser();
});

afterAll(async () => {
  try {
    await browser?.close();
  } finally {
    worker?.child.kill('SIGKILL');
    await tokenWorker?.stop({ drainMs: 0 });
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    if (shots !== DOCS) rmSync(shots, { recursive: true, force: true });
  }
});

const nonLoopback = (urls: readonly string[]) =>
  urls.filter((url) => !/^(https?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url) && url !== 'data:,');

describe('the dashboard in Chromium', () => {
  it('shows sessions live, from idle through expiring to disposed, and why each one went away', async () => {
    const port = await freePort();
    // TTL 4.8 s, grace 2 s: the whole lifecycle within seconds, with room for a slow machine.
    worker = await startWorkerProcess(
      { CLAUDE_MEM_DATA_DIR: dataDir(), CLAUDE_MEM_SESSION_TTL_MINUTES: '0.08', CLAUDE_MEM_SESSION_GRACE_SECONDS: '2' },
      port,
    );
    const ready = worker.lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; dashboard?: string })
      .find((line) => line.msg?.startsWith('worker ready'));
    expect(ready?.dashboard).toBe(`http://127.0.0.1:${port}/`);
    expect(ready?.msg).toBe(`worker ready; dashboard at http://127.0.0.1:${port}/`);

    const page = browser!.page;
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(ready!.dashboard!);
    await page.waitForSelector('#connection[data-state="live"]');
    await page.evaluate(() => Object.assign(globalThis, { sameDocument: true }));

    const init = (contentSessionId: string, project: string) =>
      worker!.call('POST', '/api/sessions/init', { body: { contentSessionId, project, prompt: `work on ${contentSessionId}` } });
    await init('claude-alpha-1', 'alpha');
    await init('claude-beta-2', 'beta');
    await init('claude-alpha-3', 'alpha');
    for (const id of [1, 2, 3]) await page.waitForSelector(`#sessions-table tr[data-session-id="${id}"][data-lifecycle="idle"]`);
    expect(await page.textContent('#sessions-table tr[data-session-id="1"] td.next')).toMatch(/^expiring in \ds$/);
    expect(await page.textContent('#summary [data-count="idle"] .value')).toBe('3');

    // Filter by project, then by state; sort by session number, both ways.
    await page.selectOption('#filter-project', 'beta');
    expect(await page.$$eval('#sessions-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-session-id')))).toEqual(['2']);
    await page.selectOption('#filter-project', '');
    // (Real time runs on: by state, assert only what stays true whatever the machine's speed.)
    await page.selectOption('#filter-state', 'active');
    expect(await page.$$('#sessions-table tbody tr')).toHaveLength(0);
    await page.selectOption('#filter-state', 'idle');
    const lifecycles = await page.$$eval('#sessions-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-lifecycle')));
    expect(new Set(lifecycles)).toEqual(new Set(['idle']));
    await page.selectOption('#filter-state', '');
    await page.click('#sessions-table button[data-sort="sessionDbId"]');
    const order = () => page.$$eval('#sessions-table tbody tr', (rows) => rows.map((r) => r.getAttribute('data-session-id')));
    expect(await order()).toEqual(['1', '2', '3']);
    await page.click('#sessions-table button[data-sort="sessionDbId"]');
    expect(await order()).toEqual(['3', '2', '1']);

    // One deleted, one completed: both leave at once, each with its reason.
    await worker.call('DELETE', '/sessions/2');
    await worker.call('POST', '/api/sessions/complete', { body: { contentSessionId: 'claude-alpha-3' } });
    await page.waitForSelector('#recent-table tr[data-session-id="2"][data-reason="deleted"]');
    await page.waitForSelector('#recent-table tr[data-session-id="3"][data-reason="completed"]');
    expect(await page.$('#sessions-table tr[data-session-id="2"]')).toBeNull();

    // Session 1 is left alone: idle → expiring → disposed (ttl), on screen.
    await page.waitForSelector('#sessions-table tr[data-session-id="1"][data-lifecycle="expiring"]', { timeout: 15_000 });
    expect(await page.textContent('#sessions-table tr[data-session-id="1"] td.next')).toMatch(/^disposed in \ds$/);
    await init('claude-beta-4', 'beta');
    await page.waitForSelector('#sessions-table tr[data-session-id="4"][data-lifecycle="idle"]');
    await page.screenshot({ path: join(shots, 'dashboard-overview.png'), fullPage: true });
    await page.waitForSelector('#recent-table tr[data-session-id="1"][data-reason="ttl"]', { timeout: 15_000 });
    expect(await page.$('#sessions-table tr[data-session-id="1"]')).toBeNull();

    // The disposal chart counts each one under its reason.
    const legend = () =>
      page.$$eval('#disposals-legend li', (items) =>
        Object.fromEntries(items.map((li) => [li.getAttribute('data-reason'), li.querySelector('.count')?.textContent])),
      );
    expect(await legend()).toEqual({ ttl: '1', completed: '1', deleted: '1', capacity: '0', 'memory-pressure': '0' });
    const bars = await page.$$eval('#disposals-chart rect.bar', (rects) =>
      rects.map((r) => [r.getAttribute('data-reason'), r.getAttribute('data-count')]),
    );
    expect(bars.sort()).toEqual([
      ['completed', '1'],
      ['deleted', '1'],
      ['ttl', '1'],
    ]);
    // The memory chart has its samples and the limit line.
    expect(await page.$$('#memory-chart path.series.heap, #memory-chart circle.series.heap')).not.toHaveLength(0);
    expect(await page.$('#memory-chart line.limit')).not.toBeNull();

    // A new session's page: its current state lit, moving with it.
    await init('claude-gamma-5', 'gamma');
    await page.click('#sessions-table tr[data-session-id="5"] td.id a');
    await page.waitForSelector('#session-view[data-session-id="5"] [data-part="statechart"] [data-state="idle"].current');
    expect(await page.$$('#session-view [data-part="statechart"] .current')).toHaveLength(1);
    expect(await page.textContent('#session-view [data-part="title"]')).toBe('Session #5 · claude-gamma-5');
    expect(await page.textContent('#session-view [data-part="deadlines"]')).toContain('becomes expiring (idle TTL)');
    expect(await page.$$eval('#session-view ol.history li', (items) => items.length)).toBe(2);
    await page.waitForSelector('#session-view [data-part="statechart"] [data-state="expiring"].current', { timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'dashboard-session.png'), fullPage: true });
    await page.waitForSelector('#session-view [data-part="statechart"] [data-state="disposed"].current', { timeout: 15_000 });
    const events = await page.$$eval('#session-view table.timeline tbody tr td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
    expect(events).toEqual(['created', 'INIT', 'SLOT_GRANTED', 'agent done', 'after idleDeadline', 'after graceDeadline']);
    expect(await page.textContent('#session-view [data-part="deadlines"]')).toMatch(/^Disposed: ttl at /);

    // A disposed session from the log, by number.
    await page.click('#session-view a[href="#/"]');
    await page.fill('#lookup-input', '2');
    await page.click('#lookup-form button');
    await page.waitForSelector(
      '#session-view[data-session-id="2"][data-state="disposed"] [data-part="statechart"] [data-state="disposed"].current',
    );
    expect(await page.textContent('#session-view [data-part="deadlines"]')).toMatch(/^Disposed: deleted at /);

    // What a session's agent replies were kept as: on its page, and found by the memories view.
    await init('claude-delta-6', 'delta');
    await worker!.call('POST', '/api/sessions/observations', {
      body: {
        contentSessionId: 'claude-delta-6',
        tool_name: 'Edit',
        tool_input: { file_path: '/repo/src/delta.ts' },
        tool_response: 'ok',
        cwd: '/repo',
      },
    });
    await page.evaluate(() => {
      (globalThis as unknown as { location: { hash: string } }).location.hash = '#/session/6';
    });
    await page.waitForSelector('#session-view[data-session-id="6"] ol.memories li.memory[data-kind="observation"]');
    expect(await page.textContent('#session-view [data-part="memories"]')).toContain('Edit /repo/src/delta.ts');
    await page.click('#memories-link');
    await page.fill('#memories-view [data-part="query"]', 'delta');
    await page.click('#memories-view [data-part="search"] button');
    await page.waitForSelector('#memories-view [data-part="results"] li.memory');
    expect(
      await page.$$eval('#memories-view [data-part="results"] li.memory strong', (titles) => titles.map((t) => t.textContent)),
    ).toEqual(['Edit /repo/src/delta.ts']);
    expect(await page.textContent('#memories-view [data-part="note"]')).toContain('best match first');

    expect(await page.evaluate(() => (globalThis as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(errors).toEqual([]);
    expect(nonLoopback(browser!.requested)).toEqual([]);
    for (const name of ['dashboard-overview.png', 'dashboard-session.png'])
      expect(statSync(join(shots, name)).size).toBeGreaterThan(10_000);
  });

  it('asks once for the token when the worker has one, keeps it in the tab, and never puts it in an address', async () => {
    const token = 'a-long-and-secret-token';
    tokenWorker = await startTestWorker(dataDir(), { CLAUDE_MEM_WORKER_TOKEN: token });
    const page = await browser!.context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    try {
      await page.goto(`http://127.0.0.1:${tokenWorker.port}/dashboard`);
      await page.waitForSelector('#token-panel:not([hidden])');
      expect(await page.textContent('#connection')).toBe('token needed');
      await page.fill('#token-input', 'not-the-token');
      await page.click('#token-form button');
      await page.waitForSelector('#token-panel:not([hidden])');
      expect(await page.textContent('#token-message')).toBe('That token was refused. Try again.');
      await page.fill('#token-input', token);
      await page.click('#token-form button');
      await page.waitForSelector('#connection[data-state="live"]');
      expect(await page.isHidden('#token-panel')).toBe(true);
      // (This file is type-checked without the DOM library: the page's globals are reached through globalThis.)
      const stored = await page.evaluate(() =>
        (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem(
          'session-lifecycle.token',
        ),
      );
      expect(stored).toBe(token);

      await tokenWorker.call('POST', '/api/sessions/init', {
        body: { contentSessionId: 'secret-session', project: 'vault', prompt: 'hello' },
        headers: { authorization: `Bearer ${token}` },
      });
      await page.waitForSelector('#sessions-table tr[data-session-id="1"]');
      // Kept for the tab: a reload does not ask again.
      await page.reload();
      await page.waitForSelector('#connection[data-state="live"]');
      expect(await page.isHidden('#token-panel')).toBe(true);
      await page.waitForSelector('#sessions-table tr[data-session-id="1"]');
      await page.click('#sessions-table tr[data-session-id="1"] td.id a');
      await page.waitForSelector('#session-view [data-part="statechart"] .current');
      for (const url of requested) {
        expect(url).not.toContain(token);
        expect(url).not.toContain('secret-session');
      }
      expect(nonLoopback(requested)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
