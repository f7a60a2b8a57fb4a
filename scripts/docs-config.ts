/** `npm run docs:config`: regenerates the settings table of docs/configuration.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigurationSection } from './configuration.js';

const path = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigurationSection(before);
if (after === before) console.log('docs/configuration.md: settings already up to date');
else {
  writeFileSync(path, after);
  console.log('docs/configuration.md: settings regenerated');
}
