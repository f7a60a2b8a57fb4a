/**
 * `session-lifecycle import claude-mem` on databases built with claude-mem's schema, as its migrations
 * leave it (src/services/sqlite/SessionStore.ts of claude-mem 13: sdk_sessions, observations with the
 * structured fields, session_summaries), and as an old install left it (sdk_session_id, raw text); into
 * the worker's log, or into a Restate cluster's PostgreSQL (a real one, test/support/postgres.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../src/cli.js';
import { openPostgresMemories, openSqliteMemories } from '../../src/memories/index.js';
import { openSqliteStore } from '../../src/store/index.js';
import { claudeMemDatabase } from '../support/claude-mem-db.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { freePort } from '../support/process.js';
import { useTempDir } from '../support/tmp.js';

const tempDir = useTempDir();

function capture(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env, stopRequested: () => new Promise(() => {}) };
  return { io, out, err };
}

describe('session-lifecycle import claude-mem', () => {
  it('copies observations and summaries once; a second import adds nothing; the worker serves them', async () => {
    const dataDir = tempDir();
    const source = join(dataDir, 'claude-mem.db');
    claudeMemDatabase(source);
    const first = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem'], first.io)).toBe(0);
    expect(first.out.join('\n')).toMatch(/^Imported 2 observations and 1 summaries from .*claude-mem\.db into .*session-events\.db\.$/);
    const second = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem', '--db', source], second.io)).toBe(0);
    expect(second.out.join('\n')).toMatch(/^Imported 0 observations and 0 summaries .* \(3 imported before, skipped\)\.$/);

    const log = openSqliteStore(join(dataDir, 'session-events.db'));
    const memories = openSqliteMemories(log);
    const [newest, oldest] = (await memories.observations({ project: 'my-app', offset: 0, limit: 10 })).items;
    expect(oldest).toMatchObject({
      origin: 'claude-mem',
      contentSessionId: 'claude-code-1',
      type: 'bugfix',
      title: 'Fixed the login race',
      subtitle: 'cookie set late',
      facts: ['waits for the cookie', 'test no longer sleeps'],
      narrative: 'The form submitted before the cookie.',
      concepts: ['gotcha'],
      filesRead: ['src/login.ts'],
      filesModified: ['src/login.ts', 'test/login.test.ts'],
      promptNumber: 1,
      createdAt: 1761991300000,
    });
    expect(newest).toMatchObject({ title: 'Auth uses JWT', filesRead: ['src/auth.ts'] });
    expect((await memories.byFile({ paths: ['/home/me/my-app/src/login.ts', 'src/login.ts'], limit: 5 })).map((o) => o.title)).toEqual([
      'Fixed the login race',
    ]);
    const [summary] = (await memories.summaries({ offset: 0, limit: 5 })).items;
    expect(summary).toMatchObject({
      request: 'fix the login bug',
      nextSteps: 'add logout test',
      notes: 'files read: src/login.ts\nfiles edited: src/login.ts',
    });
    await memories.close();
    log.close();
  });

  it('reads a database of an old install (sdk_session_id, raw text only)', async () => {
    const dataDir = tempDir();
    const source = join(dataDir, 'old.db');
    const db = new Database(source);
    db.exec(`
      CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY, claude_session_id TEXT, sdk_session_id TEXT UNIQUE, project TEXT NOT NULL);
      CREATE TABLE observations (id INTEGER PRIMARY KEY, sdk_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT NOT NULL, type TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
      INSERT INTO sdk_sessions VALUES (1, 'claude-old', 'sdk-old', 'legacy');
      INSERT INTO observations VALUES (1, 'sdk-old', 'legacy', 'Found that the cache is never cleared', 'discovery', '2024-01-01T00:00:00Z', 1704067200000);
    `);
    db.close();
    const run = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem', '--db', source], run.io)).toBe(0);
    expect(run.out.join('\n')).toContain('Imported 1 observations and 0 summaries');
    const log = openSqliteStore(join(dataDir, 'session-events.db'));
    const memories = openSqliteMemories(log);
    expect((await memories.search({ text: 'cache cleared', limit: 5 })).observations[0]).toMatchObject({
      contentSessionId: 'claude-old',
      text: 'Found that the cache is never cleared',
      project: 'legacy',
    });
    await memories.close();
    log.close();
  });

  it('refuses, with a message and exit 1: an unknown source, a missing file, a file that is not claude-mem’s, a running worker', async () => {
    const dataDir = tempDir();
    const unknown = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'mem0'], unknown.io)).toBe(1);
    expect(unknown.err.join('\n')).toContain('the one source is claude-mem');

    const missing = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem'], missing.io)).toBe(1);
    expect(missing.err.join('\n')).toContain(`no claude-mem database at ${join(dataDir, 'claude-mem.db')}`);

    const other = join(dataDir, 'other.db');
    new Database(other).exec('CREATE TABLE notes (id INTEGER)');
    const foreign = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem', '--db', other], foreign.io)).toBe(1);
    expect(foreign.err.join('\n')).toContain("it is not claude-mem's database");

    const source = join(dataDir, 'claude-mem.db');
    claudeMemDatabase(source);
    const owner = openSqliteStore(join(dataDir, 'session-events.db'));
    try {
      const locked = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
      expect(await main(['import', 'claude-mem'], locked.io)).toBe(1);
      expect(locked.err.join('\n')).toMatch(/owns .*session-events\.db: stop it first/);
    } finally {
      owner.close();
    }
  });
});

describe('session-lifecycle import claude-mem --postgres-url', () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startPostgres();
  });
  afterAll(async () => postgres?.stop());

  it('copies into a Restate cluster’s PostgreSQL once, and names a wrong or unreachable database', async () => {
    const dataDir = tempDir();
    const source = join(dataDir, 'claude-mem.db');
    claudeMemDatabase(source);
    const { url, name } = await postgres.createDatabase();
    const args = ['import', 'claude-mem', '--db', source, '--postgres-url', url];
    const first = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(args, first.io)).toBe(0);
    expect(first.out.join('\n')).toBe(
      `Imported 2 observations and 1 summaries from ${source} into postgresql://postgres@127.0.0.1:${postgres.port}/${name}.`,
    );
    const second = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(args, second.io)).toBe(0);
    expect(second.out.join('\n')).toMatch(/^Imported 0 observations and 0 summaries .* \(3 imported before, skipped\)\.$/);
    const memories = await openPostgresMemories({ connectionString: url });
    expect((await memories.byFile({ paths: ['/home/me/my-app/src/login.ts', 'src/login.ts'], limit: 5 })).map((o) => o.title)).toEqual([
      'Fixed the login race',
    ]);
    expect(await memories.stats()).toMatchObject({ observations: 2, summaries: 1 });
    await memories.close();
    // The worker's own log was not touched.
    expect(existsSync(join(dataDir, 'session-events.db'))).toBe(false);

    const wrong = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    expect(await main(['import', 'claude-mem', '--db', source, '--postgres-url', 'mysql://127.0.0.1/m'], wrong.io)).toBe(1);
    expect(wrong.err.join('\n')).toContain(
      '--postgres-url "mysql://127.0.0.1/m" is not allowed: expected a postgres:// or postgresql:// URL',
    );
    const away = capture({ CLAUDE_MEM_DATA_DIR: dataDir });
    const port = await freePort();
    expect(
      await main(['import', 'claude-mem', '--db', source, '--postgres-url', `postgresql://u:secret@127.0.0.1:${port}/m`], away.io),
    ).toBe(1);
    expect(away.err.join('\n')).toContain(`cannot open the memories in postgresql://u@127.0.0.1:${port}/m: PostgreSQL at`);
    expect(away.err.join('\n')).not.toContain('secret');
  });
});
