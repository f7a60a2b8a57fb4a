/**
 * Owns what a block of a reply becomes: an observation, a summary, or (when nothing in it can be read)
 * a raw note; titles derived when missing, types normalised, values cleaned.
 * May not: read markup (parse.ts does).
 */
import type { ObservationFields, SummaryFields } from './types.js';

/** The observation type of a raw note: what the parser kept without being able to read it. */
export const NOTE_TYPE = 'note';
/** The type of an observation that names none. */
export const DEFAULT_OBSERVATION_TYPE = 'discovery';
/** Titles are cut to this many characters (a derived title: its first line). */
const TITLE_CHARS = 160;

export type ListField = 'facts' | 'concepts' | 'files_read' | 'files_modified';
export type SummaryField = 'request' | 'investigated' | 'learned' | 'completed' | 'next_steps' | 'notes';

/** A block of a reply as read: its fields, its loose text, fields outside the vocabulary. */
export interface BlockContent {
  readonly scalars: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<ListField, readonly string[]>;
  readonly loose: string;
  readonly extras: readonly string[];
}

/** Trimmed, with a code fence around the whole value taken off and blank runs shortened. */
export function clean(text: string): string {
  let value = text.trim();
  const fenced = /^```[\w-]*\n([\s\S]*?)\n?```$/.exec(value);
  if (fenced) value = fenced[1]!.trim();
  return value.replace(/\n{3,}/g, '\n\n');
}

function firstLine(text: string): string {
  const line = text.split('\n').find((candidate) => candidate.trim() !== '') ?? '';
  const trimmed = line.trim();
  return trimmed.length > TITLE_CHARS ? `${trimmed.slice(0, TITLE_CHARS - 1)}…` : trimmed;
}

function unique(values: readonly string[] | undefined): string[] {
  return [...new Set(values ?? [])];
}

export function observationOf(block: BlockContent): ObservationFields | undefined {
  const get = (field: string) => block.scalars.get(field) ?? null;
  const facts = unique(block.lists.get('facts'));
  const concepts = unique(block.lists.get('concepts'));
  const filesRead = unique(block.lists.get('files_read'));
  const filesModified = unique(block.lists.get('files_modified'));
  const loose = clean(block.loose);
  const extra = block.extras.join('\n');
  const narrative = [get('narrative'), loose, extra].filter((part) => part !== null && part !== '').join('\n\n') || null;
  const title = get('title');
  const subtitle = get('subtitle');
  const hasContent =
    title !== null ||
    subtitle !== null ||
    get('narrative') !== null ||
    facts.length + concepts.length + filesRead.length + filesModified.length > 0;
  if (!hasContent) return undefined;
  const type = normalisedType(get('type'));
  return {
    type,
    title:
      title === null ? firstLine(subtitle ?? facts[0] ?? narrative ?? filesModified[0] ?? filesRead[0] ?? '') || null : firstLine(title),
    subtitle,
    facts,
    narrative,
    concepts,
    filesRead,
    filesModified,
    text: null,
  };
}

export function summaryOf(block: BlockContent): SummaryFields | undefined {
  const get = (field: SummaryField) => block.scalars.get(field) ?? null;
  const fields = {
    request: get('request'),
    investigated: get('investigated'),
    learned: get('learned'),
    completed: get('completed'),
    nextSteps: get('next_steps'),
  };
  const extras = [get('notes'), ...block.extras, clean(block.loose)].filter((part) => part !== null && part !== '');
  const notes = extras.length === 0 ? null : extras.join('\n');
  if (Object.values(fields).every((value) => value === null) && get('notes') === null) return undefined;
  return { ...fields, notes };
}

/** A type as a word: lower case, dashes for spaces; the default when none. */
function normalisedType(type: string | null): string {
  const word = (type ?? '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^\p{L}\p{N}_-]/gu, '')
    .slice(0, 40);
  return word === '' ? DEFAULT_OBSERVATION_TYPE : word;
}

/** Raw text kept as an observation of type `note`. */
export function noteOf(text: string): ObservationFields {
  return {
    type: NOTE_TYPE,
    title: firstLine(text) || null,
    subtitle: null,
    facts: [],
    narrative: null,
    concepts: [],
    filesRead: [],
    filesModified: [],
    text,
  };
}
