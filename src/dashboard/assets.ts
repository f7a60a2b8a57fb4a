import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** What `npm run build` writes next to the page (scripts/build-dashboard.ts). */
export interface AssetManifest {
  /** The page itself. */
  readonly index: string;
  /** Content-hashed file names the page refers to, with their media types. */
  readonly files: Readonly<Record<string, { readonly contentType: string }>>;
}

export const MANIFEST_FILE = 'manifest.json';

export interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly contentType: string;
  readonly etag: string;
  readonly cacheControl: string;
}

export type LoadedAssets =
  | { readonly ok: true; readonly dir: string; readonly index: Asset; readonly files: ReadonlyMap<string, Asset> }
  | { readonly ok: false; readonly reason: string };

/** The package's root: the nearest directory up from here whose package.json is this package's. */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'session-lifecycle') return dir;
      } catch {
        // not ours
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Where `npm run build` puts the page: `dist/web` under the package root (the same from src/ and dist/src/). */
export function defaultAssetsDir(): string {
  return join(packageRoot() ?? process.cwd(), 'dist', 'web');
}

function asset(body: Buffer, contentType: string, cacheControl: string): Asset {
  // Small files gain nothing from compression; the page's own are all text.
  const gzip = body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
  return {
    body,
    gzip: gzip !== undefined && gzip.length < body.length ? gzip : undefined,
    contentType,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    cacheControl,
  };
}

/**
 * Reads the built page into memory once (a few tens of kilobytes), compressed ahead of time. The page
 * is revalidated on every load (`no-cache` with an ETag); the files it names carry a hash of their
 * content in their name and are cached for a year.
 */
export function loadAssets(dir: string): LoadedAssets {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    return { ok: false, reason: `the dashboard is not built (no ${manifestPath}): run \`npm run build\`` };
  }
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as AssetManifest;
    const files = new Map<string, Asset>();
    for (const [name, { contentType }] of Object.entries(manifest.files)) {
      files.set(name, asset(readFileSync(join(dir, name)), contentType, 'public, max-age=31536000, immutable'));
    }
    const index = asset(readFileSync(join(dir, manifest.index)), 'text/html; charset=utf-8', 'no-cache');
    return { ok: true, dir, index, files };
  } catch (error) {
    return { ok: false, reason: `the dashboard's files in ${dir} are unreadable (${(error as Error).message}): run \`npm run build\`` };
  }
}
