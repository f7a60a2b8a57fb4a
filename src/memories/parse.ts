/**
 * Owns reading an agent's reply into memories: `<observation>` and `<summary>` blocks with claude-mem's
 * fields, as real models write them (prose around them, code fences, CDATA, entities, a block or a field
 * left open, a wrapper left out, a block repeated). htmlparser2 reads the markup; this file decides what
 * it means. Tags outside the vocabulary are kept as the text they were (`Array<string>` stays as written).
 * What cannot be read as a memory is kept as a raw note, never dropped.
 * May not: store anything, or know where the reply came from.
 */
import { Parser } from 'htmlparser2';
import { removePrivate } from '../privacy/index.js';
import { clean, type ListField, noteOf, observationOf, type SummaryField, summaryOf } from './parse-fields.js';
import type { ObservationFields, ParsedReply, SummaryFields } from './types.js';

export { DEFAULT_OBSERVATION_TYPE, NOTE_TYPE, noteOf } from './parse-fields.js';

type BlockKind = 'observation' | 'summary' | 'ack';
type ScalarField = 'type' | 'title' | 'subtitle' | 'narrative' | SummaryField;

const BLOCKS: Readonly<Record<string, BlockKind>> = {
  observation: 'observation',
  summary: 'summary',
  session_summary: 'summary',
  ack: 'ack',
  acknowledgement: 'ack',
};
const OBSERVATION_SCALARS = new Set<ScalarField>(['type', 'title', 'subtitle', 'narrative']);
const SUMMARY_SCALARS = new Set<ScalarField>(['request', 'investigated', 'learned', 'completed', 'next_steps', 'notes']);
const LISTS: Readonly<Record<ListField, string>> = { facts: 'fact', concepts: 'concept', files_read: 'file', files_modified: 'file' };
/** Other spellings models use for a field. */
const ALIASES: Readonly<Record<string, string>> = {
  'next-steps': 'next_steps',
  nextsteps: 'next_steps',
  'files-read': 'files_read',
  'files-modified': 'files_modified',
  files_edited: 'files_modified',
  files_changed: 'files_modified',
};
/** An item met outside its list goes to this list. */
const ITEM_LIST: Readonly<Record<string, ListField>> = { fact: 'facts', concept: 'concepts', file: 'files_read' };
/** A second one of these in a block starts the next block: its closing and opening tags were left out. */
const STARTS_A_BLOCK = new Set<ScalarField>(['type', 'title', 'request']);

interface Block {
  readonly kind: BlockKind;
  readonly scalars: Map<string, string>;
  readonly lists: Map<ListField, string[]>;
  /** Text inside the block but in no field; and fields outside the vocabulary, as `name: value`. */
  loose: string;
  extras: string[];
  /** The block's own source, for a note when nothing in it can be read. */
  readonly start: number;
}

type Open =
  | { readonly tag: 'block'; readonly name: string }
  | { readonly tag: 'scalar'; readonly name: string; readonly field: string; text: string }
  | { readonly tag: 'list'; readonly name: string; readonly field: ListField; loose: string }
  | { readonly tag: 'item'; readonly name: string; readonly field: ListField; text: string }
  | { readonly tag: 'extra'; readonly name: string; text: string };

function fieldName(tag: string): string {
  return ALIASES[tag] ?? tag;
}

function blockOfField(field: string): BlockKind | undefined {
  if (OBSERVATION_SCALARS.has(field as ScalarField) || field in LISTS || field in ITEM_LIST) return 'observation';
  if (SUMMARY_SCALARS.has(field as ScalarField)) return 'summary';
  return undefined;
}

/** Reads one reply. Never throws: a reply nothing can be read from becomes one note. */
export function parseReply(reply: string): ParsedReply {
  const source = removePrivate(reply);
  try {
    return new ReplyReader(source).read();
  } catch {
    // A bug here must not lose the reply.
    const text = source.trim();
    return { observations: text === '' ? [] : [noteOf(text)], summaries: [], acknowledged: false };
  }
}

class ReplyReader {
  readonly #source: string;
  readonly #blocks: Block[] = [];
  #block: Block | undefined;
  #stack: Open[] = [];
  #outside = '';

  constructor(source: string) {
    this.#source = source;
  }

  read(): ParsedReply {
    const parser = new Parser(
      {
        onopentag: (name) => this.#open(name, parser.startIndex, parser.endIndex),
        onclosetag: (name, implied) => this.#close(name, implied, parser.startIndex, parser.endIndex),
        ontext: (text) => this.#text(text),
      },
      { xmlMode: true, lowerCaseTags: true, recognizeCDATA: true, decodeEntities: true },
    );
    parser.end(this.#source);
    this.#endBlock();
    return this.#result();
  }

  // ── markup events ─────────────────────────────────────────────────────────────────────────────

  #open(rawName: string, start: number, end: number): void {
    const name = fieldName(rawName);
    const blockKind = BLOCKS[name];
    if (blockKind !== undefined) {
      this.#endBlock();
      this.#startBlock(blockKind, start);
      this.#stack.push({ tag: 'block', name: rawName });
      return;
    }
    const top = this.#stack.at(-1);
    // An item of the open list.
    if (top !== undefined && (top.tag === 'list' || top.tag === 'item') && LISTS[top.field] === name) {
      const { field } = top;
      if (top.tag === 'item') this.#closeTop();
      this.#stack.push({ tag: 'item', name: rawName, field, text: '' });
      return;
    }
    const owner = blockOfField(name);
    if (owner === undefined || this.#block?.kind === 'ack') {
      // Not ours: inside a field it is text as written; in a block, a field outside the vocabulary.
      if (this.#inField() || this.#block === undefined || top?.tag !== 'block') this.#text(this.#source.slice(start, end + 1));
      else this.#stack.push({ tag: 'extra', name: rawName, text: '' });
      return;
    }
    // A field: it ends the field (and list) still open, since fields do not nest.
    this.#closeFields();
    if (this.#block === undefined || this.#block.kind !== owner || this.#startsNextBlock(name)) {
      this.#endBlock();
      this.#startBlock(owner, start);
    }
    if (name in LISTS) this.#stack.push({ tag: 'list', name: rawName, field: name as ListField, loose: '' });
    else if (name in ITEM_LIST) this.#stack.push({ tag: 'item', name: rawName, field: ITEM_LIST[name]!, text: '' });
    else this.#stack.push({ tag: 'scalar', name: rawName, field: name, text: '' });
  }

  #close(rawName: string, implied: boolean, start: number, end: number): void {
    const index = this.#stack.findLastIndex((open) => open.name === rawName);
    if (index === -1) {
      // A closing tag of something not open: text as written, unless the parser only implied it.
      if (!implied && this.#inField() && BLOCKS[fieldName(rawName)] === undefined && blockOfField(fieldName(rawName)) === undefined) {
        this.#text(this.#source.slice(start, end + 1));
      }
      return;
    }
    while (this.#stack.length > index + 1) this.#closeTop();
    if (this.#stack[index]!.tag === 'block') {
      this.#closeTop();
      this.#endBlock();
    } else {
      this.#closeTop();
    }
  }

  #text(text: string): void {
    const top = this.#stack.at(-1);
    if (top === undefined || this.#block === undefined) {
      this.#outside += text;
      return;
    }
    if (top.tag === 'block') this.#block.loose += text;
    else if (top.tag === 'list') top.loose += text;
    else top.text += text;
  }

  // ── structure ─────────────────────────────────────────────────────────────────────────────────

  #inField(): boolean {
    const top = this.#stack.at(-1);
    return top !== undefined && top.tag !== 'block';
  }

  #startsNextBlock(field: string): boolean {
    const block = this.#block!;
    return STARTS_A_BLOCK.has(field as ScalarField) && block.scalars.has(field);
  }

  #startBlock(kind: BlockKind, start: number): void {
    this.#block = { kind, scalars: new Map(), lists: new Map(), loose: '', extras: [], start };
    this.#blocks.push(this.#block);
  }

  /** Closes whatever field, item or list is open in the current block. */
  #closeFields(): void {
    while (this.#inField()) this.#closeTop();
  }

  #closeTop(): void {
    const open = this.#stack.pop();
    const block = this.#block;
    if (open === undefined || block === undefined) return;
    switch (open.tag) {
      case 'scalar': {
        const value = clean(open.text);
        if (value === '') break;
        const before = block.scalars.get(open.field);
        block.scalars.set(open.field, before === undefined ? value : `${before}\n${value}`);
        break;
      }
      case 'item': {
        const value = clean(open.text);
        if (value !== '') listOf(block, open.field).push(value);
        break;
      }
      case 'list': {
        // A list written as lines, without item tags.
        const lines = open.loose
          .split('\n')
          .map((line) => clean(line.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '')))
          .filter(Boolean);
        if (lines.length > 0 && (block.lists.get(open.field)?.length ?? 0) === 0) listOf(block, open.field).push(...lines);
        else if (lines.length === 0) listOf(block, open.field);
        break;
      }
      case 'extra': {
        const value = clean(open.text);
        if (value !== '') block.extras.push(`${open.name}: ${value}`);
        break;
      }
      case 'block':
        break;
    }
  }

  #endBlock(): void {
    this.#closeFields();
    if (this.#stack.at(-1)?.tag === 'block') this.#stack.pop();
    this.#stack = [];
    this.#block = undefined;
  }

  // ── result ────────────────────────────────────────────────────────────────────────────────────

  #result(): ParsedReply {
    const observations: ObservationFields[] = [];
    const summaries: SummaryFields[] = [];
    let acknowledged = false;
    for (const block of this.#blocks) {
      if (block.kind === 'ack') {
        acknowledged = true;
        continue;
      }
      const memory = block.kind === 'observation' ? observationOf(block) : summaryOf(block);
      if (memory !== undefined) {
        if (block.kind === 'observation') observations.push(memory as ObservationFields);
        else summaries.push(memory as SummaryFields);
        continue;
      }
      // A block with nothing readable in it: its text, raw.
      const raw = clean(`${block.loose}\n${block.extras.join('\n')}`);
      if (raw !== '') observations.push(noteOf(raw));
    }
    // Prose around what was read is the model talking; a reply nothing was read from is kept whole.
    if (observations.length + summaries.length === 0 && !acknowledged) {
      const raw = this.#source.trim();
      if (raw !== '') observations.push(noteOf(raw));
    }
    return { observations, summaries, acknowledged };
  }
}

function listOf(block: Block, field: ListField): string[] {
  let list = block.lists.get(field);
  if (list === undefined) {
    list = [];
    block.lists.set(field, list);
  }
  return list;
}
