import { describe, expect, it } from 'vitest';
import { type AgentRequest, createLocalAgent, initPrompt, observationPrompt, summaryPrompt, type WorkKind } from '../../src/index.js';

const agent = createLocalAgent();
const ask = (kind: WorkKind, prompt: string, history: AgentRequest['history'] = []) =>
  agent.run(
    { sessionDbId: 1, attempt: 1, history, item: { id: 'x', kind, prompt, promptTokens: 1, queuedAt: 0 } },
    new AbortController().signal,
  );

describe('the local provider', () => {
  it('acknowledges a prompt', async () => {
    expect((await ask('prompt', initPrompt('my-app', 'Fix the login bug\nand more', 2))).text).toBe(
      '<ack>Observing prompt 2 of my-app: Fix the login bug</ack>',
    );
  });

  it('makes a compact observation from the tool name, input and response, the same every time', async () => {
    const prompt = observationPrompt({
      toolName: 'Edit',
      toolInput: { file_path: 'src/auth.ts', old_string: 'a' },
      toolResponse: { success: true },
      cwd: '/repo',
      at: 0,
    });
    const reply = (await ask('observation', prompt)).text;
    expect(reply).toBe(
      [
        '<observation>',
        '<type>change</type>',
        '<title>Edit src/auth.ts</title>',
        '<facts>in /repo; outcome: {"success":true}</facts>',
        '</observation>',
      ].join('\n'),
    );
    expect((await ask('observation', prompt)).text).toBe(reply);
    const bash = observationPrompt({
      toolName: 'Bash',
      toolInput: { command: 'npm test' },
      toolResponse: '3 passing',
      cwd: '/repo',
      at: 0,
    });
    expect((await ask('observation', bash)).text).toContain(
      '<type>command</type>\n<title>Bash npm test</title>\n<facts>in /repo; outcome: 3 passing</facts>',
    );
  });

  it('summarizes from the last assistant message', async () => {
    const history = [{ role: 'assistant' as const, content: '<observation>x</observation>', tokens: 5 }];
    expect((await ask('summarize', summaryPrompt('Fixed the login.\nAll green.'), history)).text).toBe(
      '<summary>\n<completed>Fixed the login.</completed>\n<observations>1 in the kept history</observations>\n</summary>',
    );
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      agent.run(
        { sessionDbId: 1, attempt: 1, history: [], item: { id: 'x', kind: 'prompt', prompt: 'p', promptTokens: 1, queuedAt: 0 } },
        controller.signal,
      ),
    ).rejects.toThrow();
  });

  it('cuts very long tool outputs in the prompt it is given', () => {
    const prompt = observationPrompt({
      toolName: 'Read',
      toolInput: { file_path: 'big.log' },
      toolResponse: 'x'.repeat(50_000),
      cwd: '/',
      at: 0,
    });
    expect(prompt.length).toBeLessThan(7_000);
    expect(prompt).toContain('more characters)');
  });
});
