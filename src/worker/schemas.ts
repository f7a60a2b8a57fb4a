import { z } from 'zod';

/** A body that fails validation: answered 400 `{error, details}`. */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }
}

export function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new InvalidRequest(
    `invalid ${what}`,
    result.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', problem: issue.message })),
  );
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
  platformSource: limited('platformSource').optional(),
  agentId: limited('agentId').optional(),
  agentType: limited('agentType').optional(),
};

export const sessionInitBody = z.object({
  contentSessionId: nonEmpty('contentSessionId'),
  project: limited('project'),
  prompt: text('prompt'),
  ...hookOrigin,
});

export const promptInitBody = z.object({
  userPrompt: text('userPrompt'),
  promptNumber: z
    .number({ error: 'promptNumber must be a number' })
    .int('promptNumber must be an integer')
    .min(1, 'promptNumber must be at least 1')
    .max(Number.MAX_SAFE_INTEGER, 'promptNumber is too large'),
});

export const observationBody = z.object({
  contentSessionId: nonEmpty('contentSessionId'),
  tool_name: nonEmpty('tool_name'),
  tool_input: toolValue,
  tool_response: toolValue,
  cwd: limited('cwd').optional(),
  tool_use_id: nonEmpty('tool_use_id').optional(),
  ...hookOrigin,
});

export const summarizeBody = z.object({
  contentSessionId: nonEmpty('contentSessionId'),
  last_assistant_message: text('last_assistant_message'),
  ...hookOrigin,
});

export const completeBody = z.object({
  contentSessionId: nonEmpty('contentSessionId'),
});

export const sessionDbIdParam = z.object({
  sessionDbId: z
    .string()
    .regex(/^\d{1,15}$/, 'sessionDbId must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().positive('sessionDbId must be a positive integer')),
});

export const eventsQuery = z.object({
  after: z
    .string()
    .regex(/^\d{1,15}$/, 'after must be a sequence number (0 or more)')
    .transform(Number)
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,6}$/, 'limit must be a number from 1 to 100000')
    .transform(Number)
    .pipe(z.number().int().min(1, 'limit must be a number from 1 to 100000').max(100_000, 'limit must be a number from 1 to 100000'))
    .optional(),
});

/** claude-mem's privacy tags: what is inside them is never recorded. */
export function stripPrivate(prompt: string): string {
  return prompt
    .replace(/<private>[\s\S]*?<\/private>/g, '')
    .replace(/<claude-mem-context>[\s\S]*?<\/claude-mem-context>/g, '')
    .trim();
}
