/**
 * A claude-mem database as claude-mem 13's migrations leave it (src/services/sqlite/SessionStore.ts of
 * claude-mem 13: sdk_sessions, observations with the structured fields, session_summaries), holding one
 * session of my-app: two observations and a summary. For `import claude-mem` and `install claude-mem`.
 */
import Database from 'better-sqlite3';

/** claude-mem 13's tables after its migrations (the columns its workers write and read). */
const CURRENT_SCHEMA = `
  CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE NOT NULL, applied_at TEXT NOT NULL);
  CREATE TABLE sdk_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, memory_session_id TEXT UNIQUE,
    project TEXT NOT NULL, platform_source TEXT NOT NULL DEFAULT 'claude', user_prompt TEXT,
    started_at TEXT NOT NULL, started_at_epoch INTEGER NOT NULL, completed_at TEXT, completed_at_epoch INTEGER,
    status TEXT NOT NULL DEFAULT 'active', worker_port INTEGER, prompt_counter INTEGER DEFAULT 0, custom_title TEXT
  );
  CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT,
    type TEXT NOT NULL, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT,
    files_modified TEXT, prompt_number INTEGER, discovery_tokens INTEGER DEFAULT 0, created_at TEXT NOT NULL,
    created_at_epoch INTEGER NOT NULL, metadata TEXT, content_hash TEXT, generated_by_model TEXT,
    relevance_count INTEGER DEFAULT 0, merged_into_project TEXT, agent_type TEXT, agent_id TEXT,
    FOREIGN KEY(memory_session_id) REFERENCES sdk_sessions(memory_session_id) ON DELETE CASCADE ON UPDATE CASCADE
  );
  CREATE TABLE session_summaries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, request TEXT,
    investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT, files_read TEXT, files_edited TEXT, notes TEXT,
    prompt_number INTEGER, discovery_tokens INTEGER DEFAULT 0, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL,
    merged_into_project TEXT,
    FOREIGN KEY(memory_session_id) REFERENCES sdk_sessions(memory_session_id) ON DELETE CASCADE ON UPDATE CASCADE
  );
`;

export function claudeMemDatabase(path: string): void {
  const db = new Database(path);
  db.exec(CURRENT_SCHEMA);
  db.prepare(
    "INSERT INTO sdk_sessions (content_session_id, memory_session_id, project, started_at, started_at_epoch) VALUES ('claude-code-1', 'mem-1', 'my-app', '2025-11-01T10:00:00Z', 1761991200000)",
  ).run();
  const observation = db.prepare(
    `INSERT INTO observations (memory_session_id, project, type, title, subtitle, facts, narrative, concepts, files_read, files_modified, prompt_number, created_at, created_at_epoch)
     VALUES ('mem-1', 'my-app', ?, ?, ?, ?, ?, ?, ?, ?, ?, '2025-11-01T10:00:00Z', ?)`,
  );
  observation.run(
    'bugfix',
    'Fixed the login race',
    'cookie set late',
    '["waits for the cookie","test no longer sleeps"]',
    'The form submitted before the cookie.',
    '["gotcha"]',
    '["src/login.ts"]',
    '["src/login.ts","test/login.test.ts"]',
    1,
    1761991300000,
  );
  observation.run('discovery', 'Auth uses JWT', null, '[]', null, '[]', '["src/auth.ts"]', '[]', 2, 1761991400000);
  db.prepare(
    `INSERT INTO session_summaries (memory_session_id, project, request, investigated, learned, completed, next_steps, files_read, files_edited, notes, prompt_number, created_at, created_at_epoch)
     VALUES ('mem-1', 'my-app', 'fix the login bug', 'the form', 'cookies are async', 'fixed', 'add logout test', '["src/login.ts"]', '["src/login.ts"]', NULL, 1, '2025-11-01T10:10:00Z', 1761991800000)`,
  ).run();
  db.close();
}
