/**
 * The README's one-machine Restate set-up listens on loopback only: restate-server's own reading of
 * restate-loopback.toml (--dump-config) binds every port to 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { restateServerBinary } from '../cluster/support/restate-server.js';

const file = fileURLToPath(new URL('../../restate-loopback.toml', import.meta.url));

describe('restate-loopback.toml', () => {
  it('binds ingress, admin and node ports to 127.0.0.1, with no unix sockets and no telemetry', () => {
    const dumped = execFileSync(restateServerBinary(), ['--config-file', file, '--dump-config'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    const binds = [...dumped.matchAll(/^bind-address = "([^"]+)"/gm)].map((match) => match[1]);
    expect(binds).toEqual(expect.arrayContaining(['127.0.0.1:5122', '127.0.0.1:8080', '127.0.0.1:9070']));
    expect(binds.every((address) => address!.startsWith('127.0.0.1:'))).toBe(true);
    expect(dumped).not.toMatch(/^listen-mode = "(all|unix)"/m);
    expect(dumped).toMatch(/^disable-telemetry = true/m);
  });

  it('is what the README and scale-out.md tell to run', () => {
    for (const doc of ['../../README.md', '../../docs/scale-out.md']) {
      expect(readFileSync(new URL(doc, import.meta.url), 'utf8')).toContain('npx restate-server --config-file restate-loopback.toml');
    }
  });
});
