/**
 * Builds the dashboard page (part of `npm run build`): web/src bundled and minified by esbuild, the
 * stylesheet, and the statechart laid out from the machine (scripts/statechart-svg.ts), each named by
 * a hash of its content, then web/index.html pointing at them and a manifest the worker serves from.
 * Output: dist/web (what src/dashboard serves by default).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, transform } from 'esbuild';
import { sessionMachine } from '../machines/session.machine.js';
import type { AssetManifest } from '../src/dashboard/index.js';
import { MANIFEST_FILE } from '../src/dashboard/index.js';
import { renderStatechartSvg } from './statechart-svg.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_OUT_DIR = join(root, 'dist', 'web');

const hashed = (name: string, extension: string, content: string | Uint8Array) =>
  `${name}-${createHash('sha256').update(content).digest('hex').slice(0, 10)}.${extension}`;

export interface BuiltDashboard {
  readonly dir: string;
  /** Bytes of each file, uncompressed. */
  readonly files: Readonly<Record<string, number>>;
}

export async function buildDashboard(outDir = DEFAULT_OUT_DIR): Promise<BuiltDashboard> {
  const script = await build({
    entryPoints: [join(root, 'web', 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    minify: true,
    target: ['es2022'],
    platform: 'browser',
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const js = script.outputFiles[0]!.contents;
  const css = (await transform(readFileSync(join(root, 'web', 'style.css'), 'utf8'), { loader: 'css', minify: true })).code;
  const statechart = await renderStatechartSvg(sessionMachine);

  const files: Record<string, { contentType: string; content: string | Uint8Array }> = {
    [hashed('app', 'js', js)]: { contentType: 'text/javascript; charset=utf-8', content: js },
    [hashed('style', 'css', css)]: { contentType: 'text/css; charset=utf-8', content: css },
    [hashed('statechart', 'svg', statechart)]: { contentType: 'image/svg+xml; charset=utf-8', content: statechart },
  };
  const nameOf = (prefix: string) => Object.keys(files).find((name) => name.startsWith(`${prefix}-`))!;
  const html = readFileSync(join(root, 'web', 'index.html'), 'utf8')
    .replace('{{app}}', nameOf('app'))
    .replace('{{style}}', nameOf('style'))
    .replace('{{statechart}}', nameOf('statechart'));
  const manifest: AssetManifest = {
    index: 'index.html',
    files: Object.fromEntries(Object.entries(files).map(([name, { contentType }]) => [name, { contentType }])),
  };

  // Written beside, then swapped in, so a worker starting meanwhile never reads half a build.
  const staging = `${outDir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  for (const [name, { content }] of Object.entries(files)) writeFileSync(join(staging, name), content);
  writeFileSync(join(staging, 'index.html'), html);
  writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(staging, outDir);

  const sizes: Record<string, number> = { 'index.html': Buffer.byteLength(html) };
  for (const [name, { content }] of Object.entries(files))
    sizes[name] = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  return { dir: outDir, files: sizes };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildDashboard(process.argv[2] ?? DEFAULT_OUT_DIR);
  const total = Object.values(built.files).reduce((a, b) => a + b, 0);
  console.log(
    `dashboard built in ${built.dir}: ${Object.entries(built.files)
      .map(([name, size]) => `${name} ${size} B`)
      .join(', ')}; ${total} B in all (before gzip)`,
  );
}
