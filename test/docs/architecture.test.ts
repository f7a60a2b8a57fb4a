/**
 * docs/architecture.md's layout tables match the tree: every folder of `src/` has its row, every file
 * of `src/` and `machines/` is named in the file table (an `index.ts` is its folder's public face), and
 * every path the tables name exists.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
const start = doc.indexOf('## Layout');
const layout = doc.slice(start, doc.indexOf('\n## ', start + 1));

/** Every path a table row names in its first cell; a bare file name is in the folder of the first path before it. */
function namedPaths(): Set<string> {
  const named = new Set<string>();
  for (const line of layout.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const paths = [...line.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    const dir = paths[0]!.includes('/') ? paths[0]!.slice(0, paths[0]!.lastIndexOf('/') + 1) : '';
    for (const path of paths) named.add(path.includes('/') ? path : dir + path);
  }
  return named;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('docs/architecture.md, layout', () => {
  const named = namedPaths();

  it('has a row for every folder of src/', () => {
    const folders = readdirSync(join(root, 'src')).filter((name) => statSync(join(root, 'src', name)).isDirectory());
    expect(folders.filter((folder) => !named.has(`src/${folder}/`))).toEqual([]);
  });

  it('names every file of src/ and machines/', () => {
    const files = [...filesUnder('src'), ...filesUnder('machines')].filter((path) => path.endsWith('.ts') && !path.endsWith('/index.ts'));
    expect(files.filter((path) => !named.has(path))).toEqual([]);
  });

  it('names nothing that is not there', () => {
    expect([...named].filter((path) => !existsSync(join(root, path)))).toEqual([]);
  });
});
