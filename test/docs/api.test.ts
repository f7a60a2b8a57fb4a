/**
 * The HTTP API reference cannot drift: docs/openapi.json and docs/api.md are what the worker's routes
 * generate (run `npm run docs:api` after changing a route or a schema), and every route the worker
 * registers has a schema: its answers, and its body, path and query when it takes them.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LIFECYCLES, sessionMachine } from '../../machines/session.machine.js';
import { type ApiReference, apiReference, openApiJson, renderApiMarkdown } from '../../scripts/api-reference.js';

const committed = (file: string) => readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');

describe('the HTTP API reference', () => {
  let reference: ApiReference;
  beforeAll(async () => {
    reference = await apiReference();
  });

  it('docs/openapi.json and docs/api.md are what the routes generate (npm run docs:api)', () => {
    expect(committed('openapi.json')).toBe(openApiJson(reference.document));
    expect(committed('api.md')).toBe(renderApiMarkdown(reference.document));
  });

  it("reports as a session's lifecycle exactly the machine's top-level states", () => {
    expect([...LIFECYCLES].sort()).toEqual(Object.keys(sessionMachine.root.states).sort());
  });

  it('documents every route the worker registers: its answers, and the body, path and query it reads', () => {
    const undocumented: string[] = [];
    for (const { method, url, schema } of reference.routes) {
      const missing: string[] = [];
      const answers = Object.keys((schema?.response as Record<string, unknown> | undefined) ?? {});
      if (!answers.some((status) => status.startsWith('2'))) missing.push('a 2xx answer');
      if (url.includes(':') && schema?.params === undefined) missing.push('params');
      if (['POST', 'PUT', 'PATCH'].includes(method) && schema?.body === undefined) missing.push('body');
      if (schema?.summary === undefined) missing.push('summary');
      if (missing.length > 0) undocumented.push(`${method} ${url}: no ${missing.join(', ')}`);
    }
    expect(undocumented).toEqual([]);
    // And the reference holds every one of them.
    const documented = new Set(
      Object.entries(reference.document.paths ?? {}).flatMap(([path, item]) =>
        Object.keys(item ?? {}).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      ),
    );
    expect(reference.routes.map((route) => `${route.method} ${route.url}`).filter((route) => !documented.has(route))).toEqual([]);
    expect(reference.routes.length).toBeGreaterThanOrEqual(20);
  });

  it('serves the same document at GET /api/openapi.json', () => {
    expect(reference.document.openapi).toBe('3.1.0');
    expect(reference.document.paths?.['/api/openapi.json']).toBeDefined();
  });
});
