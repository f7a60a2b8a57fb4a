/** `npm run docs:statechart`: regenerates the statechart section of docs/architecture.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import { sessionMachine } from '../machines/session.machine.js';
import { withStatechartSection } from './statechart.js';

const path = new URL('../docs/architecture.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withStatechartSection(before, sessionMachine);
if (after === before) console.log('docs/architecture.md: statechart already up to date');
else {
  writeFileSync(path, after);
  console.log('docs/architecture.md: statechart regenerated');
}
