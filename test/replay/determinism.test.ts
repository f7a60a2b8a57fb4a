import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { InspectionEvent, StateValue } from 'xstate';
import type { SessionContext } from '../../machines/session.machine.js';
import { AgentError, createMemoryStore, rebuildSession, type SessionRegistry } from '../../src/index.js';
import { controllableAgent } from '../support/agents.js';
import { useRegistry } from '../support/registry.js';

const harness = useRegistry();

type Op =
  | { readonly op: 'init' | 'enqueue' | 'touch' | 'complete' | 'delete'; readonly session: number; readonly tool: number }
  | { readonly op: 'reply' | 'fail' | 'fatal' | 'refuse'; readonly pick: number }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'restart' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom('init', 'enqueue', 'touch', 'complete', 'delete') as fc.Arbitrary<'init'>,
      session: fc.nat(4),
      tool: fc.nat(5),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constantFrom('reply', 'fail', 'fatal', 'refuse') as fc.Arbitrary<'reply'>, pick: fc.nat(10) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.oneof(fc.nat(2_000), fc.integer({ min: 50_000, max: 200_000 })) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const) }) },
);

describe('replay is deterministic (property)', () => {
  it('rebuilds, from the log alone, the state and context every live actor holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 50 }), fc.integer({ min: 2, max: 20 }), async (ops, snapshotEvery) => {
        const store = createMemoryStore();
        const agent = controllableAgent();
        /** The last snapshot each session's actor reported: what the registry holds in memory. */
        const live = new Map<number, { value: StateValue; context: SessionContext; status: string }>();
        const inspect = (event: InspectionEvent) => {
          if (event.type !== '@xstate.snapshot' || event.actorRef.sessionId !== event.rootId) return;
          const snapshot = event.snapshot as unknown as { value: StateValue; context: SessionContext; status: string };
          if (snapshot.status !== 'stopped') live.set(snapshot.context.sessionDbId, snapshot);
        };
        const open = () =>
          harness.start({
            agent: agent.agent,
            store,
            inspect,
            snapshotEvery,
            idleTtlMs: 100_000,
            graceMs: 20_000,
            maxActiveSessions: 3,
            maxConcurrentAgents: 2,
            maxAttempts: 2,
            // Batches of up to three: calls held by the test collect work, and a fatal refusal splits them.
            maxBatchItems: 3,
            backoffBaseMs: 500,
            pauseMs: 5_000,
            agentTimeoutMs: 60_000,
            hibernateAfterMs: 30_000,
          });
        let registry: SessionRegistry = open();
        const target = (n: number) => ({ contentSessionId: `s${n}`, project: 'p' });

        for (const step of ops) {
          switch (step.op) {
            case 'init':
              await registry.init(target(step.session), { prompt: `prompt ${step.tool}` });
              break;
            case 'enqueue':
              await registry.enqueue(target(step.session), { kind: 'observation', prompt: 'tool use', toolUseId: `t${step.tool}` });
              break;
            case 'touch':
            case 'complete':
            case 'delete':
              await registry[step.op](target(step.session));
              break;
            case 'reply':
            case 'fail':
            case 'fatal':
            case 'refuse': {
              const pending = agent.pending();
              const call = pending[step.pick % Math.max(1, pending.length)];
              if (step.op === 'reply') call?.resolve(`reply to ${call.request.item.id}`);
              else if (step.op === 'fail') call?.reject(new Error('ECONNRESET'));
              else call?.reject(new AgentError(step.op === 'fatal' ? 'fatal' : 'paused', step.op));
              break;
            }
            case 'advance':
              await vi.advanceTimersByTimeAsync(step.ms);
              break;
            case 'restart':
              await registry.shutdown();
              registry = open();
              await registry.recover();
          }
          await vi.advanceTimersByTimeAsync(0);
        }
        await registry.shutdown();

        for (const [sessionDbId, actual] of live) {
          const stored = store.getSession(sessionDbId)!;
          for (const useSnapshot of [true, false]) {
            const rebuilt = rebuildSession(store, stored, { useSnapshot });
            expect(rebuilt, `session ${sessionDbId}`).toBeDefined();
            expect(rebuilt!.skipped).toEqual([]);
            expect(rebuilt!.status).toBe(actual.status);
            expect(rebuilt!.value).toEqual(actual.value);
            expect(rebuilt!.context).toEqual(actual.context);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
