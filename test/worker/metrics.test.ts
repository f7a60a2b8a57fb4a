import { describe, expect, it, vi } from 'vitest';
import { createEmbeddedEngine, createMemoryStore, createMetrics, createSessionRegistry } from '../../src/index.js';
import { delayedAgent } from '../support/agents.js';

describe('metrics', () => {
  it('walk the live sessions once per scrape, however many metrics read them', async () => {
    const store = createMemoryStore();
    const registry = createSessionRegistry({ agent: delayedAgent(1), memoryPressure: false, store });
    const metrics = createMetrics();
    metrics.observe(createEmbeddedEngine({ registry, store }));
    await registry.init({ contentSessionId: 'c', project: 'p' }, { prompt: 'p' });
    const stats = vi.spyOn(registry, 'stats');
    const text = await metrics.register.metrics();
    expect(stats).toHaveBeenCalledTimes(1);
    expect(text).toContain('session_lifecycle_work_items_total{outcome="queued"} 1');
    await new Promise((resolve) => setImmediate(resolve));
    await metrics.register.metrics();
    expect(stats).toHaveBeenCalledTimes(2);
    await registry.shutdown();
  });
});
