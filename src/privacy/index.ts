/**
 * claude-mem's privacy tags: what a user wraps in `<private>…</private>` never reaches the agent, the
 * log or the memories; `<claude-mem-context>…</claude-mem-context>` (memories injected back into the
 * conversation) is not observed again. One rule, applied to prompts, tool uses, the last assistant
 * message, and (in case a model echoes one) to every reply before its memories are stored.
 * May not: know where the text goes.
 */

/** A closed block, or an opening tag never closed: then everything after it is private. */
const PRIVATE = /<private>[\s\S]*?(?:<\/private>|$)/gi;
const INJECTED_CONTEXT = /<claude-mem-context>[\s\S]*?(?:<\/claude-mem-context>|$)/gi;

/** The text without its private and injected-context blocks. */
export function removePrivate(text: string): string {
  if (!text.includes('<')) return text;
  return text.replace(PRIVATE, '').replace(INJECTED_CONTEXT, '');
}

/** The text without its private and injected-context blocks, trimmed (a prompt: empty means nothing public). */
export function stripPrivate(text: string): string {
  return removePrivate(text).trim();
}

/** A JSON value (a tool's input or response) with every string in it stripped, its structure kept. */
export function withoutPrivate(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return removePrivate(value);
  // Deeper than any real tool payload: left as it is rather than walked without end.
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((entry) => withoutPrivate(entry, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) copy[key] = withoutPrivate(entry, depth + 1);
  return copy;
}
