/**
 * The HTTP API reference, generated from the routes' own schemas: a real worker (embedded engine, a
 * throw-away data directory, port 0) builds its OpenAPI document with @fastify/swagger, and this renders
 * it as docs/api.md. `npm run docs:api` writes both files; test/docs/api.test.ts checks that the
 * committed ones are what the code generates, and that no route lacks a schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import { packageVersion, type RegisteredRoute, startWorker } from '../src/worker/index.js';

type Schema = OpenAPIV3_1.SchemaObject & { const?: unknown };

export interface ApiReference {
  readonly document: OpenAPIV3_1.Document;
  readonly routes: readonly RegisteredRoute[];
}

export async function apiReference(): Promise<ApiReference> {
  const dir = mkdtempSync(join(tmpdir(), 'api-reference-'));
  try {
    const config = loadConfig({ env: { CLAUDE_MEM_DATA_DIR: dir, CLAUDE_MEM_WORKER_PORT: '0' }, home: dir });
    const worker = await startWorker(config, { logger: pino({ level: 'silent' }), version: packageVersion() });
    try {
      return { document: worker.app.swagger() as OpenAPIV3_1.Document, routes: worker.routes };
    } finally {
      await worker.stop({ drainMs: 0 });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function openApiJson(document: OpenAPIV3_1.Document): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

const isErrorAnswer = (schema: Schema) =>
  schema.type === 'object' && schema.properties?.error !== undefined && schema.properties?.details !== undefined;

/** A schema as a TypeScript-like type: `{ status: "queued" } | { status: "skipped"; reason: … }`. */
export function typeOf(schema: Schema | undefined, depth = 0): string {
  if (schema === undefined || Object.keys(schema).filter((key) => key !== 'description').length === 0) return 'any JSON';
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum !== undefined) return schema.enum.map((value) => JSON.stringify(value)).join(' \\| ');
  const union = schema.anyOf ?? schema.oneOf;
  if (union !== undefined) return union.map((member) => typeOf(member as Schema, depth)).join(' \\| ');
  if (Array.isArray(schema.type)) return schema.type.map((type) => typeOf({ ...schema, type } as Schema, depth)).join(' \\| ');
  switch (schema.type) {
    case 'array':
      return `${typeOf(schema.items as Schema, depth)}[]`;
    case 'object': {
      if (isErrorAnswer(schema)) return '[error](#errors)';
      const properties = Object.entries(schema.properties ?? {});
      if (properties.length === 0) return 'object';
      if (depth >= 2) return `{ ${properties.map(([name]) => name).join(', ')} }`;
      const required = new Set(schema.required ?? []);
      return `{ ${properties.map(([name, value]) => `${name}${required.has(name) ? '' : '?'}: ${typeOf(value as Schema, depth + 1)}`).join('; ')} }`;
    }
    case 'integer':
      return 'integer';
    case 'string': {
      const bounds = [
        schema.minLength === undefined ? '' : `≥ ${schema.minLength}`,
        schema.maxLength === undefined ? '' : `≤ ${schema.maxLength}`,
      ]
        .filter(Boolean)
        .join(', ');
      return bounds === '' ? 'string' : `string (${bounds} characters)`;
    }
    default:
      return String(schema.type);
  }
}

const cell = (text: string | undefined) => (text ?? '').replace(/\n+/g, ' ').replace(/\|/g, '\\|');

function fieldTable(schema: Schema): string[] {
  const required = new Set(schema.required ?? []);
  return [
    '| field | type | required | |',
    '|---|---|---|---|',
    ...Object.entries(schema.properties ?? {}).map(([name, value]) => {
      const field = value as Schema;
      return `| \`${name}\` | ${typeOf(field)} | ${required.has(name) ? 'yes' : 'no'} | ${cell(field.description)} |`;
    }),
  ];
}

function parameterTable(parameters: OpenAPIV3_1.ParameterObject[]): string[] {
  return [
    '| parameter | in | type | required | |',
    '|---|---|---|---|---|',
    ...parameters.map(
      (p) => `| \`${p.name}\` | ${p.in} | ${typeOf(p.schema as Schema)} | ${p.required ? 'yes' : 'no'} | ${cell(p.description)} |`,
    ),
  ];
}

function answerRows(responses: OpenAPIV3_1.ResponsesObject): string[] {
  const rows = ['| status | answer | |', '|---|---|---|'];
  for (const [status, response] of Object.entries(responses)) {
    const answer = response as OpenAPIV3_1.ResponseObject;
    const [contentType, media] = Object.entries(answer.content ?? {})[0] ?? [];
    const schema = media?.schema as Schema | undefined;
    const body = contentType === undefined ? '' : contentType === 'application/json' ? typeOf(schema) : `\`${contentType}\``;
    const members = (schema?.anyOf ?? []).map((member) => (member as Schema).description).filter(Boolean);
    const description = [answer.description === 'Default Response' ? undefined : answer.description, schema?.description, ...members]
      .filter((text, index, all) => text !== undefined && all.indexOf(text) === index)
      .join(' ');
    rows.push(`| ${status} | ${body} | ${cell(description)} |`);
  }
  return rows;
}

const TAG_TITLES: Record<string, string> = {
  'claude-mem hooks': "claude-mem's hook routes",
  sessions: "The project's own session routes",
  worker: 'The worker: probes, metrics, this reference',
  dashboard: "The dashboard's routes (its page's own protocol: `src/dashboard/protocol.ts`)",
};

export function renderApiMarkdown(document: OpenAPIV3_1.Document): string {
  const lines: string[] = [
    '# HTTP API reference',
    '',
    "<!-- generated by `npm run docs:api` from the routes' own schemas (src/worker/schemas.ts, answers.ts and the routes): do not edit -->",
    '',
    `The worker's routes, version ${document.info.version}, on \`127.0.0.1:37777\` by default (\`CLAUDE_MEM_WORKER_PORT\`). The same`,
    'schemas validate every request and check every answer before it is sent, so this page cannot drift from what the',
    'worker does; [openapi.json](openapi.json) is the same reference as an OpenAPI 3.1 document (also served at',
    '`GET /api/openapi.json`). Fields an answer has beyond those listed may be added in later versions.',
    '',
    '- **Bodies** are JSON (`Content-Type: application/json`; anything else: 415), at most',
    '  `CLAUDE_MEM_WORKER_BODY_LIMIT_MB` (10 MB; over it: 413). A missing body reads as `{}`.',
    '- **Security**: the worker answers only requests whose `Host` is its own loopback name and port (403 otherwise:',
    '  DNS rebinding), refuses cross-origin browser requests (403), and, when `CLAUDE_MEM_WORKER_TOKEN` is set, needs',
    "  `Authorization: Bearer <token>` on every route but `/api/readiness`, `/api/health` and the dashboard's page (401).",
    '- **Before recovery finishes** (or Restate answers), the session routes answer 503 `initializing` with `Retry-After`.',
    '',
    '## Errors',
    '',
    'Every failure has one shape, whatever its status:',
    '',
    '```json',
    '{ "error": "invalid observation", "details": [{ "field": "tool_name", "problem": "tool_name is required" }] }',
    '```',
    '',
    '`error` says what happened in a few words; `details` is always a list: one entry per field for a body, query or path',
    'that fails validation, and one entry (without `field`) for any other failure. Only a bug answers 500 (and is',
    "logged). `/api/readiness` answers 503 in claude-mem's own shape (`{status, message}`).",
    '',
  ];
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const operation = item?.[method];
      if (operation === undefined) continue;
      const section: string[] = [`### \`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}\``, ''];
      if (operation.summary) section.push(`${operation.summary}.`, '');
      if (operation.description) section.push(operation.description, '');
      const parameters = (operation.parameters ?? []) as OpenAPIV3_1.ParameterObject[];
      if (parameters.length > 0) section.push(...parameterTable(parameters), '');
      const body = (operation.requestBody as OpenAPIV3_1.RequestBodyObject | undefined)?.content?.['application/json']?.schema as
        | Schema
        | undefined;
      if (body !== undefined) section.push('Body:', '', ...fieldTable(body), '');
      section.push(...answerRows(operation.responses ?? {}), '');
      const tag = operation.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), ...section]);
    }
  }
  for (const [tag, section] of byTag) lines.push(`## ${TAG_TITLES[tag] ?? tag}`, '', ...section);
  return `${lines.join('\n').trimEnd()}\n`;
}
