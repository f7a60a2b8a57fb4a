/**
 * Owns how the routes' zod schemas are used: they validate what comes in (a failure is answered 400
 * `{error, details}` by errors.ts), they check every answer before it goes out, and @fastify/swagger
 * turns them into the OpenAPI document the worker serves at GET /api/openapi.json, from which
 * `npm run docs:api` writes docs/openapi.json and docs/api.md. Every route registered on the worker is
 * recorded here, so that a test can name any route that has no schema.
 * May not: register the API's routes (app.ts and the route files do) or decide any answer.
 */
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidRequest, problemsOf } from './schemas.js';

/** A route as registered: what the reference check reads. */
export interface RegisteredRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

/** What an invalid part of a request is called in the error (`invalid observation`, `invalid query`). */
function partName(schema: z.ZodType, httpPart: string | undefined): string {
  const title = z.globalRegistry.get(schema)?.title;
  if (title !== undefined) return title;
  return httpPart === 'querystring' ? 'query' : httpPart === 'params' ? 'path' : (httpPart ?? 'request');
}

/** Validates with the route's zod schema; a missing body is read as `{}`, so each field says it is required. */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(httpPart === 'body' ? (data ?? {}) : data);
    if (result.success) return { value: result.data };
    return { error: new InvalidRequest(`invalid ${partName(schema, httpPart)}`, problemsOf(result.error)) };
  };

/** An answer whose documented fields do not match its schema: a bug, answered 500 and logged. */
export class AnswerMismatch extends Error {
  override readonly name = 'AnswerMismatch';
}

/**
 * Checks an answer against the route's schema for its status, then sends it as it is (fields the schema
 * does not name included: an addition is never turned into a failure).
 */
const serializerCompiler: FastifySerializerCompiler<z.ZodType> =
  ({ schema, method, url, httpStatus }) =>
  (data) => {
    const result = schema.safeParse(data);
    if (!result.success) {
      const issues = problemsOf(result.error)
        .map((p) => `${p.field}: ${p.problem}`)
        .join('; ');
      throw new AnswerMismatch(`the ${httpStatus} answer of ${method} ${url} does not match its documented schema: ${issues}`);
    }
    return JSON.stringify(data);
  };

export interface ApiDocsOptions {
  readonly version: string;
}

/** Registers the compilers, the route recorder and @fastify/swagger; call before any route. Returns the recorded routes. */
export async function registerApiDocs(app: FastifyInstance, options: ApiDocsOptions): Promise<readonly RegisteredRoute[]> {
  const routes: RegisteredRoute[] = [];
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, schema: route.schema });
    }
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'session-lifecycle worker',
        version: options.version,
        description:
          "claude-mem's hook routes (same bodies and answers, so its hooks work unchanged), the project's own session routes, and the dashboard's. Generated from the routes' own schemas.",
      },
      servers: [{ url: 'http://127.0.0.1:37777' }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'Needed on every route but the probes and the dashboard page when CLAUDE_MEM_WORKER_TOKEN is set.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  return routes;
}

/** GET /api/openapi.json: the document, as the worker builds it from its routes. */
export function registerOpenApiRoute(app: FastifyInstance): void {
  app.get(
    '/api/openapi.json',
    {
      schema: {
        summary: 'This reference, as an OpenAPI 3.1 document',
        tags: ['worker'],
        response: { 200: z.looseObject({ openapi: z.string() }).describe('The OpenAPI document (docs/openapi.json is a copy).') },
      },
    },
    async () => app.swagger() as { openapi: string },
  );
}
