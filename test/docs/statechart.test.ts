import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../../machines/session.machine.js';
import { withStatechartSection } from '../../scripts/statechart.js';

describe('docs/architecture.md', () => {
  it('shows the statechart of the machine as it is (run `npm run docs:statechart` after changing it)', () => {
    const document = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    expect(withStatechartSection(document, sessionMachine)).toBe(document);
  });
});
