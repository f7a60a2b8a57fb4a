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
export const LIMITS = { contentSessionId: 256, project: 256, tool_name: 256, tool_use_id: 256, cwd: 4_096 } as const;

const text = (field: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) });
const limited = (field: keyof typeof LIMITS) => text(field).max(LIMITS[field], `${field} must be at most ${LIMITS[field]} characters`);
const nonEmpty = (field: keyof typeof LIMITS) => limited(field).trim().min(1, `${field} must not be empty`);

/** Claude Code sends tool input and response as JSON values: objects, usually; strings sometimes; maybe nothing. */
const toolValue = z.unknown().optional();

export const sessionInitBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId').describe("Claude Code's session id."),
    project: limited('project').describe("The project's name (its directory)."),
    prompt: text('prompt').describe("The user's prompt; what is inside `<private>…</private>` is never recorded."),
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
  })
  .meta({ title: 'observation' });

export const summarizeBody = z
  .object({
    contentSessionId: nonEmpty('contentSessionId'),
    last_assistant_message: text('last_assistant_message'),
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

export const contextInjectQuery = z
  .object({
    project: z.string({ error: 'pass ?project=<name>' }).min(1, 'pass ?project=<name>').optional(),
    projects: z.string().optional().describe('Several projects, comma-separated.'),
  })
  .meta({ title: 'query' });

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

/** claude-mem's privacy tags: what is inside them is never recorded. */
export function stripPrivate(prompt: string): string {
  return prompt
    .replace(/<private>[\s\S]*?<\/private>/g, '')
    .replace(/<claude-mem-context>[\s\S]*?<\/claude-mem-context>/g, '')
    .trim();
}
