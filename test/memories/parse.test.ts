import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLocalAgent, observationPrompt, summaryPrompt } from '../../src/agents/index.js';
import { parseReply } from '../../src/memories/index.js';

describe('parseReply', () => {
  it('reads an observation with every field, lists with item tags', () => {
    const { observations, summaries } = parseReply(`
<observation>
  <type>bugfix</type>
  <title>Fixed the retry loop</title>
  <subtitle>backoff was never reset</subtitle>
  <facts><fact>attempt reset on success</fact><fact>cap at 60 s</fact></facts>
  <narrative>The loop retried forever.</narrative>
  <concepts><concept>how-it-works</concept><concept>gotcha</concept></concepts>
  <files_read><file>src/retry.ts</file></files_read>
  <files_modified><file>src/retry.ts</file><file>test/retry.test.ts</file></files_modified>
</observation>`);
    expect(summaries).toEqual([]);
    expect(observations).toEqual([
      {
        type: 'bugfix',
        title: 'Fixed the retry loop',
        subtitle: 'backoff was never reset',
        facts: ['attempt reset on success', 'cap at 60 s'],
        narrative: 'The loop retried forever.',
        concepts: ['how-it-works', 'gotcha'],
        filesRead: ['src/retry.ts'],
        filesModified: ['src/retry.ts', 'test/retry.test.ts'],
        text: null,
      },
    ]);
  });

  it('reads a summary, its unknown fields kept in notes', () => {
    const { summaries } = parseReply(
      '<summary><request>add retries</request><investigated>the client</investigated><learned>429s carry Retry-After</learned>' +
        '<completed>retries with backoff</completed><next_steps>tests</next_steps><observations>3 kept</observations></summary>',
    );
    expect(summaries).toEqual([
      {
        request: 'add retries',
        investigated: 'the client',
        learned: '429s carry Retry-After',
        completed: 'retries with backoff',
        nextSteps: 'tests',
        notes: 'observations: 3 kept',
      },
    ]);
  });

  it('ignores prose and code fences around blocks, and reads several blocks', () => {
    const reply = [
      'Sure! Here are my observations:',
      '```xml',
      '<observation><type>change</type><title>One</title></observation>',
      '<observation><type>discovery</type><title>Two</title></observation>',
      '```',
      'And the summary:',
      '<summary><request>r</request><completed>c</completed></summary>',
      'Let me know if you need more.',
    ].join('\n');
    const parsed = parseReply(reply);
    expect(parsed.observations.map((o) => o.title)).toEqual(['One', 'Two']);
    expect(parsed.summaries.map((s) => s.request)).toEqual(['r']);
  });

  it('keeps unknown tags inside a field as the text they were, and decodes entities and CDATA', () => {
    const { observations } = parseReply(
      '<observation><title>Array<string> is &lt;fine&gt;</title><facts><fact><![CDATA[if (a < b && c > d) {}]]></fact><fact>uses <b>bold</b></fact></facts></observation>',
    );
    expect(observations[0]!.title).toBe('Array<string> is <fine>');
    expect(observations[0]!.facts).toEqual(['if (a < b && c > d) {}', 'uses <b>bold</b>']);
  });

  it('tolerates fields and blocks left open, and half-closed tags', () => {
    const parsed = parseReply('<observation><type>change<title>Edited a.ts<narrative>Changed the loop\n<observation><title>Second</titl');
    expect(parsed.observations.map((o) => [o.type, o.title, o.narrative])).toEqual([
      ['change', 'Edited a.ts', 'Changed the loop'],
      ['discovery', 'Second', null],
    ]);
  });

  it('reads fields without their wrapper, and a repeated title as the next observation', () => {
    const parsed = parseReply('<type>change</type><title>A</title><facts>- one\n- two</facts><title>B</title>');
    expect(parsed.observations.map((o) => [o.type, o.title, o.facts])).toEqual([
      ['change', 'A', ['one', 'two']],
      ['discovery', 'B', []],
    ]);
  });

  it('moves a summary field out of an observation left open', () => {
    const parsed = parseReply('<observation><title>A</title><summary><request>r</request></summary>');
    expect(parsed.observations.map((o) => o.title)).toEqual(['A']);
    expect(parsed.summaries.map((s) => s.request)).toEqual(['r']);
  });

  it('keeps what it cannot read as a raw note, never drops it', () => {
    expect(parseReply('I looked at the file and it seems fine.').observations).toEqual([
      expect.objectContaining({
        type: 'note',
        text: 'I looked at the file and it seems fine.',
        title: 'I looked at the file and it seems fine.',
      }),
    ]);
    expect(parseReply('<observation>just words, no fields</observation>').observations).toEqual([
      expect.objectContaining({ type: 'note', text: 'just words, no fields' }),
    ]);
    expect(parseReply('   \n ')).toEqual({ observations: [], summaries: [], acknowledged: false });
  });

  it('reads an acknowledgement as nothing to remember', () => {
    expect(parseReply('<ack>Observing prompt 1 of p: fix it</ack>')).toEqual({ observations: [], summaries: [], acknowledged: true });
  });

  it('never stores private content a model echoed', () => {
    const parsed = parseReply('<observation><title>Key is <private>hunter2</private> set</title><narrative>x <private>open to the end');
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
    expect(JSON.stringify(parsed)).not.toContain('open to the end');
  });

  it('derives a missing title from the subtitle, a fact or the narrative', () => {
    expect(parseReply('<observation><facts><fact>first fact</fact></facts></observation>').observations[0]!.title).toBe('first fact');
  });

  it('reads every reply of the local provider', async () => {
    const agent = createLocalAgent();
    const observation = observationPrompt({
      toolName: 'Edit',
      toolInput: { file_path: '/repo/src/a.ts', old_string: 'a', new_string: 'b' },
      toolResponse: 'ok',
      cwd: '/repo',
      at: 0,
    });
    const items = [1, 2].map((n) => ({ id: `o${n}`, kind: 'observation' as const, prompt: observation, promptTokens: 1, queuedAt: 0 }));
    const reply = await agent.run({ sessionDbId: 1, item: items[0]!, items, history: [], attempt: 1 }, new AbortController().signal);
    const parsed = parseReply(reply.text);
    expect(parsed.observations).toHaveLength(2);
    expect(parsed.observations[0]).toMatchObject({ type: 'change', filesModified: ['/repo/src/a.ts'] });
    const summary = { id: 's', kind: 'summarize' as const, prompt: summaryPrompt('Done: fixed a.ts'), promptTokens: 1, queuedAt: 0 };
    const summaryReply = await agent.run(
      { sessionDbId: 1, item: summary, items: [summary], history: [], attempt: 1 },
      new AbortController().signal,
    );
    expect(parseReply(summaryReply.text).summaries[0]).toMatchObject({ completed: 'Done: fixed a.ts' });
  });

  it('never throws, and never loses non-blank text: any input gives memories or a note', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('<', '>', '/', 'a', 'title', 'observation', 'fact', ' ', '\n', '&', '!', '[', ']') }),
        (text) => {
          const parsed = parseReply(text);
          const found = parsed.observations.length + parsed.summaries.length;
          // Something readable, an acknowledgement, or nothing but markup and blanks.
          if (found === 0 && !parsed.acknowledged) expect(text.replace(/<[^>]*>?/g, '').trim()).toBe('');
        },
      ),
      { numRuns: 500 },
    );
  });
});
