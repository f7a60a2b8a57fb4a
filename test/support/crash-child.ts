/**
 * A worker-like process for the crash test: a registry on a SQLite file, with the memories kept beside
 * it, and a slow agent that answers batches (its reply holds an observation titled with each item it
 * answers). The parent sends work over IPC and records which items were acknowledged; then it kills
 * this process with SIGKILL at a moment of its choosing.
 */
import { createSessionRegistry, openSqliteStore } from '../../src/index.js';
import { openSqliteMemories } from '../../src/memories/index.js';
import { replyNaming } from './crash-reply.js';

const [dbPath] = process.argv.slice(2);
if (!dbPath || !process.send) throw new Error('usage: crash-child <db path>, with an IPC channel');

const store = openSqliteStore(dbPath);
openSqliteMemories(store);
const registry = createSessionRegistry({
  store,
  agent: {
    name: 'slow',
    run: (request, signal) =>
      new Promise((resolve, reject) => {
        const reply = replyNaming(request.items.map((item) => item.id));
        const timer = setTimeout(() => resolve({ text: reply }), 5 + Math.random() * 25);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      }),
  },
  maxConcurrentAgents: 2,
  maxBatchItems: 5,
  snapshotEvery: 7,
  memoryPressure: false,
});

process.on('message', (message: { type: 'enqueue'; id: string; session: string }) => {
  void registry
    .enqueue(
      { contentSessionId: message.session, project: 'crash' },
      { kind: 'observation', prompt: `work ${message.id}`, toolUseId: message.id },
    )
    .then((result) => {
      if (result.ok) process.send!({ type: 'ack', id: message.id });
    });
});

const report = await registry.recover();
process.send({ type: 'ready', restored: report.sessions });
