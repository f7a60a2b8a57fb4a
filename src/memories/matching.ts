/**
 * Owns the rules by which a query finds memories, whatever stores them: how a file's path matches the
 * paths an observation names (absolute or project-relative, either way round), and which words of a
 * query are searched for.
 * May not: run a query (the stores do, each in its own language).
 */

/** A path as stored and compared: forward slashes, no leading `./`, no trailing slash. */
export function normalisePath(path: string): string {
  let value = path.trim().replace(/\\/g, '/');
  while (value.startsWith('./')) value = value.slice(2);
  while (value.length > 1 && value.endsWith('/')) value = value.slice(0, -1);
  return value;
}

export interface PathMatch {
  /** Stored paths equal to one of these match: the candidates, and their tails of two segments or more. */
  readonly exact: readonly string[];
  /** Stored paths ending with one of these match (each starts with `/`): a relative candidate under an absolute stored path. */
  readonly endings: readonly string[];
}

/**
 * How the candidate forms of one file (claude-mem's hook sends the absolute path and the path relative
 * to the working directory) match stored paths: equal; stored absolute, ending with `/<relative>`; or
 * stored relative (with at least one directory, so `README.md` alone does not match every README),
 * ending the candidate.
 */
export function pathMatch(paths: readonly string[]): PathMatch {
  const exact = new Set<string>();
  const endings = new Set<string>();
  for (const raw of paths) {
    const path = normalisePath(raw);
    if (path === '' || path === '/') continue;
    exact.add(path);
    if (!path.startsWith('/')) endings.add(`/${path}`);
    const segments = path.split('/').filter(Boolean);
    for (let start = 1; start <= segments.length - 2; start++) exact.add(segments.slice(start).join('/'));
  }
  return { exact: [...exact], endings: [...endings] };
}

/** Words searched for at most: a prompt pasted as a query does not become a query of a thousand terms. */
export const MAX_QUERY_WORDS = 32;

/**
 * English words too common to tell memories apart: dropped from a prompt matched by any of its words
 * (a prompt is a sentence; "why does the login fail" is about `login` and `fail`).
 */
const STOP_WORDS = new Set(
  (
    'a about after again all also am an and any are as at be because been before being but by can could did do does doing done ' +
    'for from get got had has have having he her here him his how i if in into is it its just let me more most my no not now of ' +
    'on once only or other our out over please should so some still such than that the their them then there these they this ' +
    'those through to too under until up us very was we were what when where which while who why will with would you your'
  ).split(' '),
);

/** A word, for search: a run of letters, digits and underscores. Everything else separates words. */
const WORD = /[\p{L}\p{N}_]+/gu;

/**
 * The words of a text, separated by single spaces: what a store whose own tokenizer splits otherwise
 * (PostgreSQL's reads `/r/settings.ts` or `example.com` as one token) indexes, so that documents are
 * split as queries are, and as SQLite's unicode61 tokenizer splits them.
 */
export function searchableText(text: string): string {
  return Array.from(text.matchAll(WORD), (match) => match[0]).join(' ');
}

/**
 * The distinct words of a query (letters, digits, underscores), lower case, in order, at most
 * MAX_QUERY_WORDS; with `prompt`, without the common English words (unless nothing else is left).
 */
export function queryWords(text: string, options: { readonly prompt?: boolean } = {}): string[] {
  const words = new Set<string>();
  for (const match of text.toLowerCase().matchAll(WORD)) {
    if (options.prompt && STOP_WORDS.has(match[0])) continue;
    words.add(match[0]);
    if (words.size === MAX_QUERY_WORDS) break;
  }
  if (options.prompt && words.size === 0) return queryWords(text);
  return [...words];
}
