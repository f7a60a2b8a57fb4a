import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('README quick start', () => {
  it('shows examples/quickstart.ts verbatim', () => {
    const example = readFileSync(new URL('../../examples/quickstart.ts', import.meta.url), 'utf8');
    expect(readme).toContain(example.trim());
  });

  it('runs as shown, with the output it promises', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    try {
      await import('../../examples/quickstart.js');
    } finally {
      log.mockRestore();
    }
    expect(lines[0]).toContain('"lifecycle":"idle"');
    expect(lines[0]).toContain('"historyLength":6');
    expect(lines).toContain('session 1 disposed: ttl, 3 items processed');
    expect(lines.at(-1)).toBe('0');
  });

  it('names the commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm test');
  });
});
