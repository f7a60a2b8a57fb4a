/**
 * The command line's answers to wrong input: one line naming the flag (never a stack trace, never
 * "the environment" for a flag), and --version.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../src/cli.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();

function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, stopRequested: () => Promise.resolve('SIGTERM') };
  return { io, out, err };
}

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let busy: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => (busy ? busy.close(resolve) : resolve(undefined)));
  busy = undefined;
});

describe('session-lifecycle', () => {
  it('prints its version with --version and -v', async () => {
    for (const flag of ['--version', '-v']) {
      const { io, out, err } = capture();
      expect(await main([flag], io)).toBe(0);
      expect(out).toEqual([version]);
      expect(err).toEqual([]);
    }
  });

  it.each([
    ['serve', '--port', 'abc'],
    ['serve', '--port', '70000'],
    ['restate-service', '--port', '-1'],
    ['inspector', '--port', 'abc'],
  ])('refuses %s %s %s in one line that names the flag', async (...argv) => {
    const { io, out, err } = capture({ CLAUDE_MEM_DATA_DIR: tempDir() });
    expect(await main(argv, io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain("option '--port <port>' argument");
    expect(err[0]).toContain('expected a port number from 0 to 65535');
  });

  it('names the flag, not the environment, for a flag value the settings refuse', async () => {
    const { io, err } = capture({ CLAUDE_MEM_DATA_DIR: tempDir() });
    expect(await main(['serve', '--engine', 'nope'], io)).toBe(1);
    expect(err).toEqual([
      'session-lifecycle: --engine "nope" is not allowed: expected `embedded` or `restate` (it sets CLAUDE_MEM_ENGINE)',
    ]);
    const host = capture({ CLAUDE_MEM_DATA_DIR: tempDir() });
    expect(await main(['serve', '--host', ''], host.io)).toBe(1);
    expect(host.err[0]).toMatch(/^session-lifecycle: --host "" is not allowed/);
  });

  it('answers an inspector port in use with one line', async () => {
    busy = createServer();
    const port = await new Promise<number>((resolve) =>
      busy!.listen(0, '127.0.0.1', () => resolve((busy!.address() as { port: number }).port)),
    );
    const { io, out, err } = capture();
    expect(await main(['inspector', '--port', String(port)], io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([`session-lifecycle: port ${port} on 127.0.0.1 is in use (another relay?): pass --port with a free one`]);
  });

  it('runs the inspector relay on a free port and stops it when asked', async () => {
    const { io, out, err } = capture();
    expect(await main(['inspector', '--port', '0'], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toMatch(/^Inspector relay on ws:\/\/127\.0\.0\.1:\d+ \(loopback only\)/);
  });

  it('says where the events are when the sessions run on Restate, which keeps no log here', async () => {
    const { io, err } = capture({
      CLAUDE_MEM_DATA_DIR: tempDir(),
      CLAUDE_MEM_ENGINE: 'restate',
      CLAUDE_MEM_RESTATE_INGRESS_URL: 'http://127.0.0.1:8080',
    });
    expect(await main(['replay', '12'], io)).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain('the sessions run on Restate (CLAUDE_MEM_ENGINE=restate), which keeps no log here');
    expect(err[0]).toContain('GET /api/sessions/<sessionDbId>/events');
  });
});
