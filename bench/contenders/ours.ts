/** `ours`: the session registry, through its public API, with the same agent as the baselines. */
import { createSessionRegistry, type EventStore, type SessionRegistryOptions, summaryPrompt } from '../../src/index.js';
import type { Contender, ContenderOptions } from './types.js';

export function createOurs(
  options: ContenderOptions & { readonly store?: EventStore; readonly name?: string; readonly registry?: Partial<SessionRegistryOptions> },
): Contender {
  const registry = createSessionRegistry({
    agent: { name: 'bench', run: async (request) => ({ text: await options.reply(request.item.prompt, request.history) }) },
    clock: options.clock,
    idleTtlMs: options.idleTtlMs,
    // Like the baselines, no cap on live sessions: the TTL alone decides how many stay.
    maxActiveSessions: 10_000_000,
    memoryPressure: false,
    ...(options.store ? { store: options.store } : {}),
    ...options.registry,
  });
  const check = (result: { ok: boolean }) => {
    if (!result.ok) throw new Error(`registry refused: ${JSON.stringify(result)}`);
  };
  return {
    name: options.name ?? 'ours',
    init: async (contentSessionId, project, prompt) => check(await registry.init({ contentSessionId, project }, { prompt })),
    observe: async (contentSessionId, observation) =>
      check(await registry.enqueue({ contentSessionId }, { kind: 'observation', prompt: observation })),
    summarize: async (contentSessionId, message) =>
      check(await registry.enqueue({ contentSessionId }, { kind: 'summarize', prompt: summaryPrompt(message) })),
    liveSessions: () => registry.stats().live,
    async idle() {
      while (registry.stats().byLifecycle.active > 0) await new Promise((resolve) => setImmediate(resolve));
    },
    async close() {
      await registry.shutdown();
    },
  };
}
