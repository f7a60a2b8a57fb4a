import { describe, expect, it } from 'vitest';
import { type Agent, AgentError, type AgentRequest, createFallbackAgent } from '../../src/agents/index.js';

/** A provider that answers or refuses as scripted, call by call (the last entry repeats), recording what it was sent. */
function provider(name: string, ...script: (string | AgentError)[]) {
  const seen: AgentRequest[] = [];
  const agent: Agent = {
    name,
    run: async (request) => {
      const step = script[Math.min(seen.length, script.length - 1)]!;
      seen.push(request);
      if (step instanceof AgentError) throw step;
      return { text: step, usage: { inputTokens: 10, outputTokens: 2 } };
    },
  };
  return { agent, seen };
}

const item = { id: 'o1', kind: 'observation' as const, prompt: 'p', promptTokens: 1, queuedAt: 0 };
const history = [{ role: 'user' as const, content: 'p', tokens: 1, pinned: true as const }];
const request = (attempt: number): AgentRequest => ({ sessionDbId: 7, attempt, maxAttempts: 3, item, items: [item], history });
const run = (agent: Agent, attempt = 1) => agent.run(request(attempt), new AbortController().signal);
const refused = (kind: 'paused' | 'retryable' | 'fatal', retryAfterMs?: number) => new AgentError(kind, `${kind} refusal`, retryAfterMs);

describe('fallback chain', () => {
  it('answers with the first provider and names it', async () => {
    const first = provider('claude', 'from claude');
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([first.agent, second.agent]);
    await expect(run(chain)).resolves.toMatchObject({ text: 'from claude', provider: 'claude' });
    expect(second.seen).toHaveLength(0);
  });

  it('hands a paused refusal to the next provider at once, with the same request (the same bounded history)', async () => {
    const first = provider('claude', refused('paused'));
    const second = provider('gemini', 'from gemini');
    const handOvers: string[] = [];
    const chain = createFallbackAgent([first.agent, second.agent], { onHandOver: ({ from, to }) => handOvers.push(`${from}>${to}`) });
    await expect(run(chain)).resolves.toMatchObject({ text: 'from gemini', provider: 'gemini' });
    expect(second.seen[0]).toBe(first.seen[0]);
    expect(handOvers).toEqual(['claude>gemini']);
  });

  it('throws a retryable refusal before the last attempt (the machine backs off), and hands it over on the last', async () => {
    const first = provider('claude', refused('retryable'));
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([first.agent, second.agent]);
    await expect(run(chain, 1)).rejects.toMatchObject({ kind: 'retryable' });
    await expect(run(chain, 2)).rejects.toMatchObject({ kind: 'retryable' });
    expect(second.seen).toHaveLength(0);
    await expect(run(chain, 3)).resolves.toMatchObject({ provider: 'gemini' });
  });

  it('a fatal refusal is about the batch: thrown, not handed over', async () => {
    const first = provider('claude', refused('fatal'));
    const second = provider('gemini', 'from gemini');
    await expect(run(createFallbackAgent([first.agent, second.agent]))).rejects.toMatchObject({ kind: 'fatal' });
    expect(second.seen).toHaveLength(0);
  });

  it('rests a refusing provider, then tries it first again after its back-off (doubling per refusal in a row)', async () => {
    let now = 0;
    const first = provider('claude', refused('paused'), refused('paused'), 'claude is back');
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([first.agent, second.agent], { restMs: 60_000, now: () => now });
    await expect(run(chain)).resolves.toMatchObject({ provider: 'gemini' });
    now = 59_999;
    await expect(run(chain)).resolves.toMatchObject({ provider: 'gemini' });
    expect(first.seen).toHaveLength(1);
    now = 60_000;
    await expect(run(chain)).resolves.toMatchObject({ provider: 'gemini' }); // refused again: rests 120 s
    expect(first.seen).toHaveLength(2);
    now = 60_000 + 119_999;
    await expect(run(chain)).resolves.toMatchObject({ provider: 'gemini' });
    now = 180_000;
    await expect(run(chain)).resolves.toMatchObject({ text: 'claude is back', provider: 'claude' });
  });

  it('a provider’s Retry-After lengthens its rest', async () => {
    let now = 0;
    const first = provider('claude', refused('paused', 600_000), 'back');
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([first.agent, second.agent], { restMs: 1_000, now: () => now });
    await run(chain);
    now = 599_999;
    await expect(run(chain)).resolves.toMatchObject({ provider: 'gemini' });
    now = 600_000;
    await expect(run(chain)).resolves.toMatchObject({ provider: 'claude' });
  });

  it('when every provider refuses: paused if any refused the account (the queue rests), and resting providers make the chain pause', async () => {
    let now = 0;
    const first = provider('claude', refused('paused', 5_000));
    const second = provider('gemini', refused('retryable'));
    const chain = createFallbackAgent([first.agent, second.agent], { restMs: 10_000, now: () => now });
    await expect(run(chain, 3)).rejects.toMatchObject({ kind: 'paused' });
    // Both rest now: the chain pauses until the first wakes, without calling anyone.
    const error = (await run(chain, 1).catch((e: unknown) => e)) as AgentError;
    expect(error).toMatchObject({ kind: 'paused', retryAfterMs: 10_000 });
    expect(first.seen).toHaveLength(1);
    expect(second.seen).toHaveLength(1);
    // Both awake again: claude refuses the account again, gemini's retryable refusal on a first attempt goes back to the machine.
    now = 10_000;
    await expect(run(chain, 1)).rejects.toMatchObject({ kind: 'retryable' });
    expect(first.seen).toHaveLength(2);
    expect(second.seen).toHaveLength(2);
  });

  it('gives each provider its share of the call: a stalled one hands over when its share ends', async () => {
    const stalled: Agent = {
      name: 'claude',
      run: (_request, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    };
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([stalled, second.agent], { perProviderTimeoutMs: 50 });
    await expect(run(chain, 3)).resolves.toMatchObject({ provider: 'gemini' });
    await expect(run(chain, 1)).resolves.toMatchObject({ provider: 'gemini' }); // claude rests
  });

  it('an abort of the session’s call is not a refusal: nothing is handed over', async () => {
    const controller = new AbortController();
    const aborting: Agent = {
      name: 'claude',
      run: async () => {
        controller.abort(new Error('deleted'));
        throw new Error('deleted');
      },
    };
    const second = provider('gemini', 'from gemini');
    const chain = createFallbackAgent([aborting, second.agent]);
    await expect(chain.run(request(3), controller.signal)).rejects.toThrow('deleted');
    expect(second.seen).toHaveLength(0);
  });
});
