import { describe, expect, it } from 'vitest';
import { type AgentRequest, createLocalAgent, initPrompt, observationPrompt, summaryPrompt, type WorkKind } from '../../src/index.js';

const agent = createLocalAgent();
const ask = (kind: WorkKind, prompt: string, history: AgentRequest['history'] = []) => {
  const item = { id: 'x', kind, prompt, promptTokens: 1, queuedAt: 0 };
  return agent.run({ sessionDbId: 1, attempt: 1, history, item, items: [item] }, new AbortController().signal);
};

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
        '<facts><fact>in /repo; outcome: {"success":true}</fact></facts>',
        '<files_modified><file>src/auth.ts</file></files_modified>',
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
      '<type>command</type>\n<title>Bash npm test</title>\n<facts><fact>in /repo; outcome: 3 passing</fact></facts>\n</observation>',
    );
  });

  it('answers a batch with one observation per item, in order, in one reply', async () => {
    const use = (command: string) =>
      observationPrompt({ toolName: 'Bash', toolInput: { command }, toolResponse: 'ok', cwd: '/repo', at: 0 });
    const items = ['npm test', 'npm run lint'].map((command, i) => ({
      id: `t${i}`,
      kind: 'observation' as const,
      prompt: use(command),
      promptTokens: 10,
      queuedAt: 0,
    }));
    const item = { ...items[0]!, prompt: items.map((i) => i.prompt).join('\n\n'), promptTokens: 20 };
    const reply = (await agent.run({ sessionDbId: 1, attempt: 1, history: [], item, items }, new AbortController().signal)).text;
    expect(reply.match(/<observation>/g)).toHaveLength(2);
    expect(reply.indexOf('Bash npm test')).toBeLessThan(reply.indexOf('Bash npm run lint'));
  });

  it('summarizes from the last assistant message and the latest request in history', async () => {
    const history = [
      { role: 'user' as const, content: initPrompt('my-app', 'Fix the <login> bug', 1), tokens: 5 },
      { role: 'assistant' as const, content: '<observation>x</observation>', tokens: 5 },
    ];
    expect((await ask('summarize', summaryPrompt('Fixed the login.\nAll green.'), history)).text).toBe(
      '<summary>\n<request>Fix the &lt;login&gt; bug</request>\n<completed>Fixed the login.</completed>\n<notes>1 observations in the kept history</notes>\n</summary>',
    );
  });

  it('names the file a reading tool read', async () => {
    const prompt = observationPrompt({ toolName: 'Read', toolInput: { file_path: '/repo/a.ts' }, toolResponse: 'x', cwd: '/repo', at: 0 });
    expect((await ask('observation', prompt)).text).toContain('<files_read><file>/repo/a.ts</file></files_read>');
  });

  it('counts every observation of a batch reply in its summary', async () => {
    const history = [
      { role: 'assistant' as const, content: '<observation>a</observation>\n<observation>b</observation>', tokens: 10 },
      { role: 'assistant' as const, content: '<observation>c</observation>', tokens: 5 },
    ];
    expect((await ask('summarize', summaryPrompt('Done.'), history)).text).toContain('<notes>3 observations in the kept history</notes>');
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      agent.run(
        {
          sessionDbId: 1,
          attempt: 1,
          history: [],
          item: { id: 'x', kind: 'prompt', prompt: 'p', promptTokens: 1, queuedAt: 0 },
          items: [{ id: 'x', kind: 'prompt', prompt: 'p', promptTokens: 1, queuedAt: 0 }],
        },
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
