/**
 * Owns what the worker's routes accept, as zod schemas: each route declares them (body, params,
 * querystring), the worker validates with them (api-docs.ts), and the reference is generated from them.
 * A schema's `title` names it in the error (`invalid observation`).
 */
import { z } from 'zod';

/** One problem with a request, as every error answer lists them. */
export interface Problem {
  readonly field?: string;
  readonly problem: string;
}

/** A request that fails validation: answered 400 `{error, details}`, one problem per field. */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly details: readonly Problem[],
  ) {
    super(message);
  }
}

export function problemsOf(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', problem: issue.message }));
}

/**
 * Longest identifiers the worker accepts, in characters (docs/operations.md, "Limits"). Claude Code's
 * session and tool-use ids are a few dozen characters and a project is a directory name; anything far
 * longer is a client bug, and would be stored in every event of the session.
 */
export const LIMITS = {
  contentSessionId: 256,
  project: 256,
  tool_name: 256,
  tool_use_id: 256,
  cwd: 4_096,
  platformSource: 64,
  agentId: 256,
  agentType: 256,
} as const;

const text = (field: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) });
const limited = (field: keyof typeof LIMITS) => text(field).max(LIMITS[field], `${field} must be at most ${LIMITS[field]} characters`);
const nonEmpty = (field: keyof typeof LIMITS) => limited(field).trim().min(1, `${field} must not be empty`);

/** Claude Code sends tool input and response as JSON values: objects, usually; strings sometimes; maybe nothing. */
const toolValue = z.unknown().optional();

/**
 * What claude-mem 13.x's hooks add to their bodies: the platform they run on (`claude`, `codex`, …) and,
 * inside a subagent, its id and type. Accepted and checked; the worker keeps sessions by content session,
 * so they change nothing but a subagent's summary (skipped, as claude-mem does).
 */
const hookOrigin = {
  platformSource: limited('platformSource').optional().describe('The platform the hook runs on (`claude`, `codex`, …).'),
  agentId: limited('agentId').optional().describe('Inside a subagent: its id.'),
  agentType: limited('agentType').optional().describe('Inside a subagent: its type.'),
};

export const sessionInitBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId').describe("Claude Code's session id."),
    project: limited('project').describe("The project's name (its directory)."),
    prompt: text('prompt').describe("The user's prompt; what is inside `<private>…</private>` is never recorded."),
    ...hookOrigin,
  })
  .meta({ title: 'session init' });

export const promptInitBody = z
  .object({
    userPrompt: text('userPrompt'),
    promptNumber: z
      .number({ error: 'promptNumber must be a number' })
      .int('promptNumber must be an integer')
      .min(1, 'promptNumber must be at least 1')
      .max(Number.MAX_SAFE_INTEGER, 'promptNumber is too large'),
  })
  .meta({ title: 'prompt init' });

export const observationBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId'),
    tool_name: nonEmpty('tool_name'),
    tool_input: toolValue.describe('Any JSON value.'),
    tool_response: toolValue.describe('Any JSON value.'),
    cwd: limited('cwd').optional(),
    tool_use_id: nonEmpty('tool_use_id').optional().describe('Makes a retried call idempotent: the same id is queued once.'),
    ...hookOrigin,
  })
  .meta({ title: 'observation' });

export const summarizeBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId'),
    last_assistant_message: text('last_assistant_message'),
    ...hookOrigin,
  })
  .meta({ title: 'summarize' });

export const completeBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId'),
  })
  .meta({ title: 'complete' });

export const sessionDbIdParam = z
  .object({
    sessionDbId: z
      .string()
      .regex(/^\d{1,15}$/, 'sessionDbId must be a positive integer')
      .transform(Number)
      .pipe(z.number().int().positive('sessionDbId must be a positive integer'))
      .describe("The session's id (`sessionDbId` of the init answer)."),
  })
  .meta({ title: 'sessionDbId' });

export const eventsQuery = z
  .object({
    after: z
      .string()
      .regex(/^\d{1,15}$/, 'after must be a sequence number (0 or more)')
      .transform(Number)
      .optional()
      .describe('Only events after this sequence number.'),
    limit: z
      .string()
      .regex(/^\d{1,6}$/, 'limit must be a number from 1 to 100000')
      .transform(Number)
      .pipe(z.number().int().min(1, 'limit must be a number from 1 to 100000').max(100_000, 'limit must be a number from 1 to 100000'))
      .optional()
      .describe('At most this many events (1 to 100000); every event when absent.'),
  })
  .meta({ title: 'query' });

// ── memories ────────────────────────────────────────────────────────────────────────────────────

/** A query parameter given once or repeated (fastify parses `?a=1&a=2` as an array). */
const oneOrMany = (field: string, max: number) =>
  z
    .union([text(field), z.array(text(field))], { error: `${field} must be text` })
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .pipe(z.array(z.string().max(4_096, `${field} must be at most 4096 characters`)).max(max, `at most ${max} ${field} values`));

/** A comma-separated list of projects, each a project name. */
const projectList = (field: string) =>
  text(field)
    .transform((list) =>
      list
        .split(',')
        .map((project) => project.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(z.string().max(LIMITS.project, `each project must be at most ${LIMITS.project} characters`))
        .max(32, `${field} lists at most 32 projects`),
    );

/** A whole number in a query string, within bounds. */
const count = (field: string, min: number, max: number) =>
  z
    .union([z.string().regex(/^\d{1,9}$/), z.number().int()], { error: `${field} must be a number from ${min} to ${max}` })
    .transform(Number)
    .pipe(
      z.number().min(min, `${field} must be a number from ${min} to ${max}`).max(max, `${field} must be a number from ${min} to ${max}`),
    );

const flag = (field: string) =>
  z.enum(['true', 'false', '1', '0'], `${field} must be true or false`).transform((value) => value === 'true' || value === '1');

export const contextQuery = z
  .object({ projects: projectList('projects').optional(), project: projectList('project').optional(), colors: flag('colors').optional() })
  .transform(({ projects, project, colors }) => ({ projects: [...(projects ?? []), ...(project ?? [])], colors: colors ?? false }))
  .refine((query) => query.projects.length > 0, { message: 'pass ?projects=a,b or ?project=<name>', path: ['projects'] });

export const byFileQuery = z.object({
  path: oneOrMany('path', 16).refine((paths) => paths.some((path) => path.trim() !== ''), 'path must name a file'),
  projects: projectList('projects').optional(),
  limit: count('limit', 1, 100).optional(),
});

export const semanticBody = z
  .object({
    q: z.string({ error: 'q must be a string' }).max(100_000, 'q must be at most 100000 characters').optional(),
    project: limited('project').optional(),
    limit: count('limit', 1, 1_000).optional(),
  })
  .meta({ title: 'semantic context request' });

export const searchQuery = z.object({
  query: z.string({ error: 'query must be text' }).max(4_096, 'query must be at most 4096 characters').optional(),
  project: limited('project').optional(),
  type: z.string({ error: 'type must be text' }).max(64, 'type must be at most 64 characters').optional(),
  obs_type: z.string({ error: 'obs_type must be text' }).max(64, 'obs_type must be at most 64 characters').optional(),
  limit: count('limit', 1, 100).optional(),
  offset: count('offset', 0, 1_000_000).optional(),
  format: z.enum(['json', 'text'], 'format must be json or text').optional(),
});

export const memoryPageQuery = z.object({
  project: limited('project').optional(),
  sessionDbId: count('sessionDbId', 1, Number.MAX_SAFE_INTEGER).optional(),
  limit: count('limit', 1, 100).optional(),
  offset: count('offset', 0, 1_000_000).optional(),
});

export const memoryIdParam = z
  .object({
    id: z
      .string()
      .regex(/^[1-9]\d{0,14}$/, 'id must be a positive integer')
      .transform(Number)
      .describe("The memory's id."),
  })
  .meta({ title: 'id' });

export const projectMemoriesQuery = z.object({
  project: nonEmpty('project'),
});
