/**
 * The prompts of `upstream-13`, the cost benchmark's model of claude-mem 13.x's observer, at the sizes
 * claude-mem 13.15.3 sends (src/sdk/prompts.ts and plugin/modes/code.json in github:thedotmack/claude-mem,
 * measured, not copied: the wording here is ours). What costs money is their length and where they go:
 *   - the init prompt, the conversation's first user message: the code mode's instructions (5,077
 *     characters: identity, role, what to record and skip, the type, field and concept guidance, the
 *     footer) around the observation skeleton and the user's request;
 *   - an observation: the tool's name, time and directory, its input and output as JSON indented by two
 *     spaces (each cut to 16,000 characters), and a note on elided fields;
 *   - a summary request: the summary instructions and format (1,613 characters) and the last assistant message;
 *   - Claude Code's own: the Agent SDK's minimal system prompt (claude-mem sets none, and no tools), and
 *     the compaction request and the summary that replaces the conversation when it nears the context window.
 */

const filler = (topic: string, chars: number) => {
  const sentence = `Guidance on ${topic}: record what changed and why, in the project's own words, without speculation. `;
  return sentence.repeat(Math.ceil(chars / sentence.length)).slice(0, chars);
};

/** The Agent SDK's minimal default system prompt: a few hundred tokens. */
export const SDK_SYSTEM_PROMPT = `You are an agent built on the Claude Agent SDK. ${filler('tool use and answering', 1_400)}`;

export function upstreamInitPrompt(project: string, userPrompt: string): string {
  return [
    filler('the observer identity', 393),
    '<observed_from_primary_session>',
    `  <user_request>${userPrompt}</user_request>`,
    `  <requested_at>${new Date(0).toISOString().slice(0, 10)}</requested_at>`,
    '</observed_from_primary_session>',
    filler('the observer role', 329),
    filler('spatial awareness', 257),
    filler('what to record', 1_150),
    filler('what to skip', 348),
    '<observation>',
    '  <type>[ bugfix | feature | refactor | change | discovery | decision ]</type>',
    `  <!-- ${filler('observation types', 820)} -->`,
    '  <title>…</title><subtitle>…</subtitle>',
    '  <facts><fact>…</fact><fact>…</fact><fact>…</fact></facts>',
    `  <!-- ${filler('fields', 252)} -->`,
    '  <narrative>…</narrative>',
    '  <concepts><concept>…</concept><concept>…</concept></concepts>',
    `  <!-- ${filler('concepts', 669)} -->`,
    '  <files_read><file>…</file><file>…</file></files_read>',
    '  <files_modified><file>…</file><file>…</file></files_modified>',
    '</observation>',
    filler('the footer', 739),
    `Memory processing starts now for ${project}.`,
  ].join('\n');
}

const ELISION_NOTE =
  'When a <parameters> or <outcome> block above holds an "<elided chars=... />" marker, that field was cut to fit the ' +
  "observer's context window: describe only the part you can see, and infer nothing about what was cut.";

const MAX_FIELD_CHARS = 16_000;
function field(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? '';
  if (text.length <= MAX_FIELD_CHARS) return text;
  const head = text.slice(0, MAX_FIELD_CHARS * 0.6);
  const tail = text.slice(-MAX_FIELD_CHARS * 0.3);
  return `${head}\n... <elided chars="${text.length - head.length - tail.length}" original_size_chars="${text.length}" reason="oversize" /> ...\n${tail}`;
}

export function upstreamObservationPrompt(use: {
  toolName: string;
  toolInput: unknown;
  toolResponse: unknown;
  cwd: string;
  at: number;
}): string {
  return [
    '<observed_from_primary_session>',
    `  <what_happened>${use.toolName}</what_happened>`,
    `  <occurred_at>${new Date(use.at).toISOString()}</occurred_at>`,
    `  <working_directory>${use.cwd}</working_directory>`,
    `  <parameters>${field(use.toolInput)}</parameters>`,
    `  <outcome>${field(use.toolResponse)}</outcome>`,
    '</observed_from_primary_session>',
    '',
    ELISION_NOTE,
  ].join('\n');
}

export function upstreamSummaryPrompt(userPrompt: string, lastAssistantMessage: string): string {
  return [
    filler('the progress checkpoint', 500),
    `<user_request>${userPrompt}</user_request>`,
    filler('the summary format', 600),
    '<summary><request>…</request><investigated>…</investigated><learned>…</learned><completed>…</completed><next_steps>…</next_steps><notes>…</notes></summary>',
    filler('the summary footer', 350),
    '<last_assistant_message>',
    lastAssistantMessage,
    '</last_assistant_message>',
  ].join('\n');
}

/** Claude Code's compaction request: the conversation so far, then this, answered by a summary. */
export function compactionPrompt(marker: string): string {
  return `${marker}\nYour task is to create a detailed summary of the conversation so far. ${filler('the compaction summary', 3_000)}`;
}

/** The first message of the conversation that replaces a compacted one. */
export function continuedFrom(summary: string): string {
  return `This session is being continued from a previous conversation that ran out of context. The conversation is summarized below:\n${summary}`;
}
