import type { WorkItem } from '../../machines/session.machine.js';
import type { Agent, AgentRequest } from './agent.js';
import { sectionOf } from './prompts.js';

/** What kind of change a tool use is, by the tool's name. */
function observationType(toolName: string): string {
  if (/^(Edit|MultiEdit|Write|NotebookEdit)$/.test(toolName)) return 'change';
  if (/^(Read|Grep|Glob|LS|WebFetch|WebSearch)$/.test(toolName)) return 'discovery';
  if (toolName === 'Bash') return 'command';
  return 'action';
}

/** The first line that is not blank, cut to `max` characters (without splitting the whole text). */
function firstLine(text: string | undefined, max = 120): string {
  if (text === undefined) return '';
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(start, end).trim();
    if (line !== '') return line.length > max ? `${line.slice(0, max - 1)}…` : line;
    start = end + 1;
  }
  return '';
}

/**
 * A tool's response in one line: compact JSON, or its first line of text. The prompt holds an object
 * response as compact JSON already (one line); only pretty-printed JSON is parsed to be compacted.
 */
function outcomeOf(response: string | undefined): string {
  if (response === undefined) return '';
  const text = response.trimStart();
  if ((text.startsWith('{') || text.startsWith('[')) && text.includes('\n')) {
    try {
      return firstLine(JSON.stringify(JSON.parse(text)));
    } catch {
      // Not JSON after all (or cut short in the prompt): its first line.
    }
  }
  return firstLine(text);
}

/** The file a tool's input names, if it names one. */
function fileOf(toolInput: string | undefined): string | undefined {
  if (toolInput === undefined) return undefined;
  try {
    const input = JSON.parse(toolInput) as Record<string, unknown>;
    for (const key of ['file_path', 'notebook_path']) if (typeof input[key] === 'string' && input[key] !== '') return input[key] as string;
  } catch {
    // Not JSON: no file.
  }
  return undefined;
}

/** `<files_read>` or `<files_modified>` for a tool that touched a file. */
function filesOf(type: string, file: string | undefined): string[] {
  if (file === undefined) return [];
  const list = type === 'change' ? 'files_modified' : 'files_read';
  return [`<${list}><file>${escapeXml(file)}</file></${list}>`];
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The user's request of the latest prompt the history holds (the pinned init prompt, or a later one). */
function latestRequest(history: AgentRequest['history']): string {
  for (let index = history.length - 1; index >= 0; index--) {
    const message = history[index]!;
    if (message.role !== 'user') continue;
    const request = sectionOf(message.content, 'user_request');
    if (request !== undefined) return firstLine(request, 200);
  }
  return '';
}

/** The most telling field of a tool's input: the file, the command, the pattern. */
function subjectOf(toolInput: string | undefined): string {
  if (toolInput === undefined) return '';
  try {
    const input = JSON.parse(toolInput) as Record<string, unknown>;
    for (const key of ['file_path', 'notebook_path', 'path', 'command', 'pattern', 'url', 'query']) {
      if (typeof input[key] === 'string') return input[key] as string;
    }
  } catch {
    // Not JSON: the raw text is the subject.
  }
  return firstLine(toolInput, 80);
}

function reply(item: WorkItem, history: AgentRequest['history']): string {
  const { prompt, kind } = item;
  switch (kind) {
    case 'prompt': {
      const userRequest = firstLine(sectionOf(prompt, 'user_request'));
      return `<ack>Observing prompt ${sectionOf(prompt, 'prompt_number') ?? '?'} of ${sectionOf(prompt, 'project') || 'the project'}: ${userRequest}</ack>`;
    }
    case 'observation': {
      const tool = sectionOf(prompt, 'tool_name') ?? 'tool';
      const input = sectionOf(prompt, 'tool_input');
      const subject = subjectOf(input);
      const outcome = outcomeOf(sectionOf(prompt, 'tool_response'));
      const type = observationType(tool);
      return [
        '<observation>',
        `<type>${type}</type>`,
        `<title>${escapeXml(`${tool}${subject ? ` ${subject}` : ''}`)}</title>`,
        `<facts><fact>${escapeXml(`in ${sectionOf(prompt, 'working_directory') ?? '?'}; outcome: ${outcome || '(empty)'}`)}</fact></facts>`,
        ...filesOf(type, fileOf(input)),
        '</observation>',
      ].join('\n');
    }
    case 'summarize': {
      const message = sectionOf(prompt, 'last_assistant_message') ?? '';
      // A batch's one reply holds an observation per item.
      const observations = history
        .filter((m) => m.role === 'assistant')
        .reduce((count, m) => count + (m.content.match(/<observation>/g)?.length ?? 0), 0);
      const request = latestRequest(history);
      return [
        '<summary>',
        ...(request === '' ? [] : [`<request>${escapeXml(request)}</request>`]),
        `<completed>${escapeXml(firstLine(message, 200))}</completed>`,
        `<notes>${observations} observations in the kept history</notes>`,
        '</summary>',
      ].join('\n');
    }
  }
}

/**
 * The offline provider: deterministic replies built from the prompt alone (the tool's name, input and
 * response for an observation; the last assistant message for a summary), one per item of the batch,
 * in order. No network, no model, no cost: the default, so that `npm start` works anywhere, and what
 * the tests and benchmarks run.
 */
export function createLocalAgent(): Agent {
  return {
    name: 'local',
    run: async (request, signal) => {
      signal.throwIfAborted();
      const { items, history } = request;
      if (items.length <= 1) return { text: reply(request.item, history) };
      return { text: items.map((item) => reply(item, history)).join('\n') };
    },
  };
}
