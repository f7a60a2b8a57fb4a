import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/index.js';
import { SlotPool } from '../../src/registry/slots.js';
import { controllableAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';

const harness = useRegistry({}, 0);

describe('SlotPool', () => {
  it('grants first come, first served, and skips a session that no longer takes it', async () => {
    const granted: number[] = [];
    const refusing = new Set([2]);
    const pool = new SlotPool({
      capacity: 1,
      clock: systemClock,
      grant: (id) => {
        granted.push(id);
        return !refusing.has(id);
      },
    });
    for (const id of [1, 2, 3, 4]) pool.request(id);
    pool.cancel(4);
    await Promise.resolve();
    expect(granted).toEqual([1]);
    pool.release(1);
    await Promise.resolve();
    expect(granted).toEqual([1, 2, 3]);
    expect(pool.stats()).toMatchObject({ inUse: 1, waiting: 0, granted: 2 });
  });
});

type Command =
  | { readonly kind: 'init' | 'enqueue' | 'delete'; readonly session: number }
  | { readonly kind: 'resolve' | 'fail'; readonly pick: number }
  | { readonly kind: 'tick'; readonly ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constantFrom('init' as const, 'enqueue' as const), session: fc.nat(5) }),
  fc.record({ kind: fc.constant('delete' as const), session: fc.nat(5) }),
  fc.record({ kind: fc.constantFrom('resolve' as const, 'fail' as const), pick: fc.nat(20) }),
  fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(3_000) }),
);

describe('agent slots under random interleavings (property)', () => {
  it('never run more than maxConcurrentAgents calls, and process every queued item', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.array(command, { maxLength: 60 }), async (capacity, commands) => {
        const agent = controllableAgent();
        const registry = harness.start({
          agent: agent.agent,
          maxConcurrentAgents: capacity,
          maxAttempts: 1_000,
          backoffBaseMs: 100,
          backoffMaxMs: 1_000,
        });
        let dropped = 0;
        registry.on('disposed', (d) => (dropped += d.droppedItems));
        const target = (n: number) => ({ contentSessionId: `s${n}`, project: 'p' });
        const check = () => {
          expect(agent.inFlight).toBeLessThanOrEqual(capacity);
          expect(registry.stats().slots.inUse).toBeLessThanOrEqual(capacity);
        };

        for (const step of commands) {
          switch (step.kind) {
            case 'init':
              await registry.init(target(step.session), { prompt: `prompt for s${step.session}` });
              break;
            case 'enqueue':
              await registry.enqueue(target(step.session), { kind: 'observation', prompt: 'tool use' });
              break;
            case 'delete':
              await registry.delete(target(step.session));
              break;
            case 'resolve':
            case 'fail': {
              const pending = agent.pending();
              const call = pending[step.pick % Math.max(1, pending.length)];
              if (step.kind === 'resolve') call?.resolve('reply');
              else call?.reject(new Error('transient'));
              break;
            }
            case 'tick':
              await vi.advanceTimersByTimeAsync(step.ms);
          }
          await vi.advanceTimersByTimeAsync(0);
          check();
        }

        // Let everything finish: every queued item is eventually processed.
        for (let round = 0; round < 500 && registry.stats().byLifecycle.active > 0; round++) {
          for (const call of agent.pending()) call.resolve('reply');
          await vi.advanceTimersByTimeAsync(1_000);
          check();
        }
        const { totals, byLifecycle } = registry.stats();
        expect(byLifecycle.active).toBe(0);
        expect(agent.maxInFlight).toBeLessThanOrEqual(capacity);
        expect(totals.failed).toBe(0);
        expect(totals.processed + dropped).toBe(totals.queued);
        await registry.shutdown();
      }),
      { numRuns: 150 },
    );
  });
});
