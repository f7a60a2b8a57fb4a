/** `npm run docs:api`: regenerates docs/openapi.json and docs/api.md from the worker's routes. */
import { readFileSync, writeFileSync } from 'node:fs';
import { apiReference, openApiJson, renderApiMarkdown } from './api-reference.js';

const { document } = await apiReference();
for (const [file, text] of [
  ['openapi.json', openApiJson(document)],
  ['api.md', renderApiMarkdown(document)],
] as const) {
  const path = new URL(`../docs/${file}`, import.meta.url);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {
    // first time
  }
  if (before === text) console.log(`docs/${file}: already up to date`);
  else {
    writeFileSync(path, text);
    console.log(`docs/${file}: regenerated`);
  }
}
