/**
 * Which Chromium the dashboard's browser tests, its bench and its screenshots drive, so that `npm ci`
 * is the whole set-up (no apt, no browser download):
 *   - the headless Chromium that the `@sparticuz/chromium` npm package carries inside it (brotli
 *     archives), unpacked once per machine into `<tmp>/session-lifecycle-chromium-<version>/`: the same
 *     pinned build on every machine, whatever else is installed there;
 *   - or `CHROMIUM_PATH`, when set: any Chromium or Chrome (Debian's: `CHROMIUM_PATH=/usr/bin/chromium`).
 *
 * The package unpacks into `os.tmpdir()` itself (`/tmp/chromium`, `/tmp/lib*.so`), trusts whatever it
 * finds there, and would race a second process unpacking at the same time. So it unpacks in a child
 * process whose TMPDIR is a staging folder of our own, which is then renamed into place in one step:
 * a folder that exists is complete, whichever process got there first.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export interface ChromiumBuild {
  readonly executablePath: string;
  /** Command-line switches this build needs, besides those every launch passes. */
  readonly args: readonly string[];
  readonly source: 'CHROMIUM_PATH' | 'npm';
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Switches of @sparticuz/chromium's defaults that weaken the page's security (they suit a Lambda
 * scraper): the tests check what the dashboard may and may not reach, so the browser keeps its rules.
 */
const INSECURE = new Set(['--disable-web-security', '--allow-running-insecure-content', '--disable-site-isolation-trials']);

function packageVersion(): string {
  const manifest = join(root, 'node_modules/@sparticuz/chromium/package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** Unpacks the npm package's Chromium once per machine and version; returns its folder. */
async function unpackedNpmChromium(): Promise<string> {
  const target = join(tmpdir(), `session-lifecycle-chromium-${packageVersion()}`);
  if (existsSync(join(target, 'chromium'))) return target;
  const staging = mkdtempSync(`${target}.unpacking-`);
  try {
    await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', "const { default: c } = await import('@sparticuz/chromium'); await c.executablePath();"],
      { cwd: root, env: { ...process.env, TMPDIR: staging }, timeout: 120_000 },
    );
    if (!existsSync(join(staging, 'chromium'))) throw new Error(`@sparticuz/chromium left no chromium in ${staging}`);
    try {
      renameSync(staging, target);
    } catch (error) {
      // Another process renamed its copy into place first: use that one.
      if (!existsSync(join(target, 'chromium'))) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

export async function resolveChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumBuild> {
  const override = env.CHROMIUM_PATH;
  if (override !== undefined && override !== '') {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override}: no such file`);
    return { executablePath: override, args: [], source: 'CHROMIUM_PATH' };
  }
  const { default: chromium } = await import('@sparticuz/chromium');
  const folder = await unpackedNpmChromium();
  return {
    executablePath: join(folder, 'chromium'),
    args: chromium.args.filter((arg) => !INSECURE.has(arg)),
    source: 'npm',
  };
}
