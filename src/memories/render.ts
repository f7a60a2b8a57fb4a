/**
 * Owns the text that memories are shown as: the context a session starts with (plain, for Claude
 * Code's `additionalContext`, or with terminal colours), the context of a prompt's lexical matches, and
 * the index a search answers to claude-mem's MCP search tool. Within a token budget, newest first.
 * May not: read memories (the routes hand them over) or know HTTP.
 */
import { estimateTokens } from '../history/index.js';
import type { Observation, SearchResult, Summary } from './types.js';

export interface ContextOptions {
  readonly projects: readonly string[];
  /** Estimated tokens (characters / 4) the text stays within. */
  readonly maxTokens: number;
  /** ANSI colours, for a terminal (claude-mem's `colors=true`). */
  readonly colors?: boolean;
}

const ANSI = { bold: '\u001b[1m', dim: '\u001b[2m', cyan: '\u001b[36m', yellow: '\u001b[33m', reset: '\u001b[0m' } as const;
type Style = keyof Omit<typeof ANSI, 'reset'>;

/** When, in UTC to the minute: the same for every reader of the text. */
export function timeOf(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** One line: line breaks and runs of blanks made single spaces. */
function line(text: string | null | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

function summaryLines(summary: Summary, paint: (style: Style, text: string) => string): string[] {
  const heading = `### ${paint('dim', timeOf(summary.createdAt))}${summary.promptNumber === null ? '' : ` · prompt ${summary.promptNumber}`}`;
  const fields: [string, string | null][] = [
    ['Request', summary.request],
    ['Investigated', summary.investigated],
    ['Learned', summary.learned],
    ['Completed', summary.completed],
    ['Next steps', summary.nextSteps],
    ['Notes', summary.notes],
  ];
  return [
    heading,
    ...fields.filter(([, value]) => line(value) !== '').map(([name, value]) => `${paint('bold', `${name}:`)} ${line(value)}`),
    '',
  ];
}

function observationLines(observation: Observation, paint: (style: Style, text: string) => string): string[] {
  const title = line(observation.title) || line(observation.text).slice(0, 160) || '(untitled)';
  const subtitle = line(observation.subtitle);
  const lines = [
    `- #${observation.id} ${paint('dim', timeOf(observation.createdAt))} ${paint('yellow', `[${observation.type}]`)} ${title}${subtitle === '' ? '' : ` — ${subtitle}`}`,
  ];
  for (const fact of observation.facts) lines.push(`  · ${line(fact)}`);
  const files = [
    ...observation.filesModified.map((file) => `${file} (modified)`),
    ...observation.filesRead.filter((file) => !observation.filesModified.includes(file)),
  ];
  if (files.length > 0) lines.push(`  files: ${files.join(', ')}`);
  return lines;
}

/**
 * The context a session of these projects starts with: the latest summaries (at most half the budget),
 * then the newest observations, each whole or not at all; empty when there is nothing to show.
 */
export function renderContext(memories: SearchResult, options: ContextOptions): string {
  const { summaries, observations } = memories;
  if (summaries.length === 0 && observations.length === 0) return '';
  const paint = (style: Style, text: string) => (options.colors ? `${ANSI[style]}${text}${ANSI.reset}` : text);
  const heading = [
    paint('bold', `# Memories of ${options.projects.join(', ')}`),
    paint('dim', 'What earlier sessions of this project observed and concluded, newest first (kept by session-lifecycle).'),
    '',
  ];
  let used = estimateTokens(heading.join('\n'));
  const out = [...heading];
  const add = (block: string[], budget: number): boolean => {
    const cost = estimateTokens(`${block.join('\n')}\n`);
    if (used + cost > budget) return false;
    out.push(...block);
    used += cost;
    return true;
  };

  let shownSummaries = 0;
  if (summaries.length > 0 && add([paint('cyan', '## Sessions'), ''], options.maxTokens / 2)) {
    for (const summary of summaries) {
      if (!add(summaryLines(summary, paint), options.maxTokens / 2)) break;
      shownSummaries++;
    }
  }
  let shownObservations = 0;
  if (observations.length > 0 && add([paint('cyan', '## Observations'), ''], options.maxTokens)) {
    for (const observation of observations) {
      if (!add(observationLines(observation, paint), options.maxTokens)) break;
      shownObservations++;
    }
  }
  const left = summaries.length - shownSummaries + (observations.length - shownObservations);
  if (left > 0) out.push('', paint('dim', `(${left} more not shown within the context budget; search them with the memory search tool)`));
  return out.join('\n').trimEnd();
}

/** The context of a prompt's lexical matches (claude-mem's semantic injection, answered by word matching). */
export function renderMatches(observations: readonly Observation[]): string {
  if (observations.length === 0) return '';
  const lines = ['## Relevant past work (matched by words, not meaning)', ''];
  for (const observation of observations) {
    lines.push(`### ${line(observation.title) || '(untitled)'} (${timeOf(observation.createdAt).slice(0, 10)})`);
    const body = line(observation.narrative) || observation.facts.map(line).join('; ') || line(observation.text);
    if (body !== '') lines.push(body);
    lines.push('');
  }
  return lines.join('\n').trimEnd();
}

/** A search's results as the index table claude-mem's MCP search tool shows. */
export function renderSearchIndex(result: SearchResult, query: string, ranking: string): string {
  const total = result.observations.length + result.summaries.length;
  if (total === 0) return `No results found for "${query}"`;
  const cell = (text: string | null) => line(text).replace(/\|/g, '\\|').slice(0, 120);
  const rows = [
    ...result.observations.map((o) => `| #${o.id} | ${timeOf(o.createdAt)} | ${o.type} | ${cell(o.title ?? o.text)} |`),
    ...result.summaries.map((s) => `| S${s.id} | ${timeOf(s.createdAt)} | summary | ${cell(s.request ?? s.completed ?? s.learned)} |`),
  ];
  return [
    `Found ${total} result(s) for "${query}" (${ranking})`,
    '',
    '| ID | Time | Type | Title |',
    '|----|------|------|-------|',
    ...rows,
  ].join('\n');
}
