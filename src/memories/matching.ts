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

/** The distinct words of a query (letters, digits, underscores), lower case, in order, at most MAX_QUERY_WORDS. */
export function queryWords(text: string): string[] {
  const words = new Set<string>();
  for (const match of text.toLowerCase().matchAll(/[\p{L}\p{N}_]+/gu)) {
    words.add(match[0]);
    if (words.size === MAX_QUERY_WORDS) break;
  }
  return [...words];
}
