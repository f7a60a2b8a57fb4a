/**
 * The prompts a session's agent receives, built from what the hooks send. Tagged sections, so that an
 * LLM reads them easily and the offline `local` provider can take them apart again deterministically.
 */

export interface ToolUse {
  readonly toolName: string;
  readonly toolInput: unknown;
  readonly toolResponse: unknown;
  readonly cwd: string;
  readonly at: number;
}

/** Long tool outputs are cut in the prompt: the history bound is in tokens, and a log line is enough. */
const MAX_SECTION_CHARS = 6_000;

function section(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return text.length > MAX_SECTION_CHARS
    ? `${text.slice(0, MAX_SECTION_CHARS)}\n… (${text.length - MAX_SECTION_CHARS} more characters)`
    : text;
}

/** The first prompt of a session: the agent's role and the user's request. */
export function initPrompt(project: string, userPrompt: string, promptNumber: number): string {
  const role =
    promptNumber <= 1
      ? 'You observe a coding session of another assistant and keep a record of what it learns and changes.'
      : 'The user has written again in the session you are observing.';
  return [
    role,
    'For each tool use you are shown, answer with one <observation> (type, title, facts); when asked, write a <summary>.',
    `<project>${project}</project>`,
    `<prompt_number>${promptNumber}</prompt_number>`,
    '<user_request>',
    userPrompt,
    '</user_request>',
  ].join('\n');
}

export function observationPrompt(use: ToolUse): string {
  return [
    '<tool_use>',
    `<tool_name>${use.toolName}</tool_name>`,
    `<occurred_at>${new Date(use.at).toISOString()}</occurred_at>`,
    `<working_directory>${use.cwd}</working_directory>`,
    '<tool_input>',
    section(use.toolInput),
    '</tool_input>',
    '<tool_response>',
    section(use.toolResponse),
    '</tool_response>',
    '</tool_use>',
  ].join('\n');
}

export function summaryPrompt(lastAssistantMessage: string): string {
  return [
    'The assistant finished its turn. Summarize the session so far in a <summary> with <request>, <completed> and <next_steps>.',
    '<last_assistant_message>',
    section(lastAssistantMessage),
    '</last_assistant_message>',
  ].join('\n');
}

/** The text between `<tag>` and `</tag>`, if the prompt has that section. */
export function sectionOf(prompt: string, tag: string): string | undefined {
  const start = prompt.indexOf(`<${tag}>`);
  const end = prompt.indexOf(`</${tag}>`, start);
  if (start === -1 || end === -1) return undefined;
  return prompt.slice(start + tag.length + 2, end).trim();
}
