/**
 * A replica of a v8.5.7-style worker's observation route, for the HTTP comparison: express with its JSON
 * body parser, a SQLite insert into a pending-messages table, and an event emitter to wake the agent
 * loop. Written from the route's described behaviour (the validation, skips and privacy check in the
 * same order), not from its code. Same SQLite settings as ours: WAL, synchronous=NORMAL.
 *
 *   node --import tsx bench/replica/express-v857.ts <port> <db file>
 */

import { EventEmitter } from 'node:events';
import Database from 'better-sqlite3';
import express from 'express';

const [portArg, dbPath] = process.argv.slice(2);
const db = new Database(dbPath!);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT UNIQUE NOT NULL, project TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS user_prompts_by_session ON user_prompts (content_session_id, prompt_number);
  CREATE TABLE IF NOT EXISTS pending_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER NOT NULL, message_type TEXT NOT NULL,
    tool_name TEXT, tool_input TEXT, tool_response TEXT, cwd TEXT, prompt_number INTEGER, status TEXT NOT NULL DEFAULT 'pending', created_at INTEGER NOT NULL);
`);
const createSession = db.prepare('INSERT OR IGNORE INTO sdk_sessions (content_session_id, project, created_at) VALUES (?, ?, ?)');
const sessionId = db.prepare<[string], { id: number }>('SELECT id FROM sdk_sessions WHERE content_session_id = ?');
const promptCount = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM user_prompts WHERE content_session_id = ?');
const promptText = db.prepare<[string, number], { prompt_text: string }>(
  'SELECT prompt_text FROM user_prompts WHERE content_session_id = ? AND prompt_number = ?',
);
const savePrompt = db.prepare('INSERT INTO user_prompts (content_session_id, prompt_number, prompt_text, created_at) VALUES (?, ?, ?, ?)');
const enqueue = db.prepare(
  "INSERT INTO pending_messages (session_db_id, message_type, tool_name, tool_input, tool_response, cwd, prompt_number, created_at) VALUES (?, 'observation', ?, ?, ?, ?, ?, ?)",
);

const SKIP_TOOLS = new Set(['ListMcpResourcesTool', 'SlashCommand', 'Skill', 'TodoWrite', 'AskUserQuestion']);
const queues = new Map<number, EventEmitter>();
let wakeUps = 0;
const queueOf = (id: number) => {
  let emitter = queues.get(id);
  if (!emitter) {
    emitter = new EventEmitter();
    // The agent loop would fetch the pending message here and call the model: out of this measurement.
    emitter.on('message', () => wakeUps++);
    queues.set(id, emitter);
  }
  return emitter;
};

const app = express();
app.use(express.json({ limit: '50mb' }));
app.get('/api/readiness', (_req, res) => res.json({ status: 'ready' }));

app.post('/api/sessions/init', (req, res) => {
  const { contentSessionId, project, prompt } = req.body ?? {};
  if (!contentSessionId || project === undefined || prompt === undefined) return res.status(400).json({ error: 'Missing field' });
  createSession.run(contentSessionId, project, Date.now());
  const id = sessionId.get(contentSessionId)!.id;
  const promptNumber = promptCount.get(contentSessionId)!.n + 1;
  savePrompt.run(contentSessionId, promptNumber, prompt, Date.now());
  res.json({ sessionDbId: id, promptNumber, skipped: false });
});

app.post('/api/sessions/observations', (req, res) => {
  const { contentSessionId, tool_name, tool_input, tool_response, cwd } = req.body ?? {};
  if (!contentSessionId) return res.status(400).json({ error: 'Missing contentSessionId' });
  if (SKIP_TOOLS.has(tool_name)) return res.json({ status: 'skipped', reason: 'tool_excluded' });
  const path = tool_input?.file_path ?? tool_input?.notebook_path ?? '';
  if (['Edit', 'Write', 'Read', 'NotebookEdit'].includes(tool_name) && String(path).includes('session-memory')) {
    return res.json({ status: 'skipped', reason: 'session_memory_meta' });
  }
  createSession.run(contentSessionId, '', Date.now());
  const id = sessionId.get(contentSessionId)!.id;
  const promptNumber = promptCount.get(contentSessionId)!.n;
  if (!promptText.get(contentSessionId, promptNumber)?.prompt_text) return res.json({ status: 'skipped', reason: 'private' });
  // As described: the values are stringified, then stored (and stringified again by the store).
  const input = JSON.stringify(JSON.stringify(tool_input ?? {}));
  const response = JSON.stringify(JSON.stringify(tool_response ?? {}));
  enqueue.run(id, tool_name, input, response, cwd ?? '', promptNumber, Date.now());
  queueOf(id).emit('message');
  res.json({ status: 'queued' });
});

app.listen(Number(portArg), '127.0.0.1', () => process.stdout.write(`{"msg":"replica listening"}\n`));
process.on('SIGTERM', () => {
  db.close();
  process.exit(0);
});
