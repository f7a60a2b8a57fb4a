import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type ChromiumBuild, resolveChromium } from './chromium.js';

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Every URL the page asked for, allowed or not. */
  readonly requested: string[];
  /** Which Chromium this is (see chromium.ts). */
  readonly build: ChromiumBuild;
  close(): Promise<void>;
}

const LOOPBACK = /^(https?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//;

/**
 * A headless Chromium with a fresh profile that may reach loopback only: any other request is aborted
 * (and recorded, so a test can assert that none was even attempted). The profile is removed on close.
 */
export async function launchBrowser(options: { viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const build = await resolveChromium();
  const profile = mkdtempSync(join(tmpdir(), 'session-lifecycle-profile-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: build.executablePath,
      headless: true,
      viewport: options.viewport ?? { width: 1400, height: 900 },
      args: [
        ...build.args,
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
      ],
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const requested: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requested.push(url);
    return LOOPBACK.test(url) || url.startsWith('data:') ? route.continue() : route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    requested,
    build,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
