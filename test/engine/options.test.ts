/**
 * The session options are resolved by one rule on both engines (src/engine/options.ts): the same
 * defaults, the same bounds, the same message naming the option, whether the registry or the Restate
 * services are given them.
 */
import { describe, expect, it } from 'vitest';
import { createSessionServices } from '../../src/cluster/index.js';
import { createSessionRegistry, DEFAULT_SESSION_OPTIONS, DEFAULT_SESSION_SETTINGS, resolveSessionOptions } from '../../src/index.js';

const agent = { name: 'x', run: async () => ({ text: 'x' }) };

describe('session options, on either engine', () => {
  it.each([
    [{ idleTtlMs: 0 }, /idleTtlMs/],
    [{ idleTtlMs: Number.NaN }, /idleTtlMs/],
    [{ idleTtlMs: 30 * 24 * 3_600_000 }, /idleTtlMs: must be at most 2147483647/],
    [{ graceMs: -5 }, /graceMs/],
    [{ maxHistoryMessages: 1.5 }, /maxHistoryMessages/],
    [{ historyLowWater: 0 }, /historyLowWater: must be above 0/],
    [{ maxConcurrentAgents: 0 }, /maxConcurrentAgents/],
    [{ maxQueuedItems: -1 }, /maxQueuedItems/],
    [{ maxBatchTokens: 1.5 }, /maxBatchTokens/],
    [{ retentionMs: -1 }, /retentionMs/],
    [{ agentTimeoutMs: '60' }, /agentTimeoutMs/],
  ])('rejects %o with the same message naming the option', (bad, message) => {
    expect(() => createSessionRegistry({ agent, memoryPressure: false, ...bad } as never)).toThrow(message);
    expect(() => createSessionServices({ agent, ...bad } as never)).toThrow(message);
  });

  it('rejects what only the services take, and a missing agent, by name', () => {
    expect(() => createSessionServices({ agent, timelineEntries: 0 })).toThrow(/session service: timelineEntries/);
    expect(() => createSessionServices({} as never)).toThrow(/session service: `agent`/);
  });

  it('applies the same defaults: a batch a quarter of the history bound, a grace of 0 allowed, backoff never below its base', () => {
    const resolved = resolveSessionOptions({ agent, maxHistoryTokens: 8_000, graceMs: 0, backoffBaseMs: 90_000 }, 'test');
    expect(resolved.settings).toMatchObject({ maxBatchTokens: 2_000, graceMs: 0, backoffMaxMs: 90_000 });
    expect(resolveSessionOptions({ agent }, 'test')).toMatchObject({ settings: DEFAULT_SESSION_SETTINGS, ...DEFAULT_SESSION_OPTIONS });
  });
});
