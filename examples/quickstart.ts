import { type Agent, createSessionRegistry } from 'session-lifecycle';

// Any provider: it gets the head work item and the bounded history, and an AbortSignal.
const agent: Agent = {
  name: 'echo',
  run: async (request, signal) => {
    signal.throwIfAborted();
    return { text: `noted: ${request.item.prompt}` };
  },
};

const registry = createSessionRegistry({
  agent,
  idleTtlMs: 200, // one hour by default; short here to watch it happen
  graceMs: 100,
  maxHistoryMessages: 50,
});

registry.on('disposed', ({ sessionDbId, reason, counters }) =>
  console.log(`session ${sessionDbId} disposed: ${reason}, ${counters.processed} items processed`),
);

const session = { contentSessionId: 'claude-session-1', project: 'my-app' };
await registry.init(session, { prompt: 'Fix the login bug' });
await registry.enqueue(session, { kind: 'observation', prompt: 'Edit src/auth.ts', toolUseId: 'tool-1' });
await registry.enqueue(session, { kind: 'summarize', prompt: 'Summarize the work so far' });

await new Promise((resolve) => setTimeout(resolve, 50));
console.log(registry.get(session)); // lifecycle 'idle', historyLength 6, idleDeadline …

await new Promise((resolve) => setTimeout(resolve, 400));
// → session 1 disposed: ttl, 3 items processed
console.log(registry.stats().live); // 0
await registry.shutdown();
