import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withConfigurationSection } from '../../scripts/configuration.js';
import { SETTING_KEYS } from '../../src/config/index.js';

describe('docs/configuration.md', () => {
  const document = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  it('lists every key as the code defines it (run `npm run docs:config` after changing them)', () => {
    expect(withConfigurationSection(document)).toBe(document);
    for (const key of SETTING_KEYS) expect(document).toContain(`\`${key}\``);
  });
});
