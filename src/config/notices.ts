/**
 * Owns what start-up says about keys the worker does not read: the settings.json keys it sets aside
 * (claude-mem's own: listed once, at debug level) and any key, in settings.json or the environment,
 * that looks like a misspelling of one of ours (a warning: a setting the user believes is in force is not).
 * May not: read files or the environment (load.ts hands it the names).
 */
import { distance } from 'fastest-levenshtein';
import { CLAUDE_MEM_KEYS } from './claude-mem-keys.js';
import { SETTING_KEYS, type SettingKey } from './settings.js';

/** A key that is none of ours, yet one or two edits from one of ours. */
export interface Misspelling {
  readonly key: string;
  /** `the environment`, or the settings file's path. */
  readonly source: string;
  /** The key of ours it is closest to. */
  readonly meant: SettingKey;
}

export interface SettingsNotices {
  /** Keys of settings.json this worker does not read (claude-mem's own, mostly), in the file's order. */
  readonly ignoredKeys: readonly string[];
  readonly misspellings: readonly Misspelling[];
}

/**
 * Edits (insertions, deletions, substitutions) within which a key counts as a misspelling. Our keys are
 * 20 to 40 characters long and differ from each other by at least two edits where they are alike
 * (`…_WORKER_HOST`, `…_WORKER_PORT`), so one or two typed wrong is what a typo looks like.
 */
const MAX_EDITS = 2;

/** The key of ours that `key` looks like a misspelling of, if any. */
export function misspelledKey(key: string): SettingKey | undefined {
  if (CLAUDE_MEM_KEYS.has(key) || (SETTING_KEYS as readonly string[]).includes(key)) return undefined;
  const upper = key.toUpperCase();
  let best: { key: SettingKey; edits: number } | undefined;
  for (const ours of SETTING_KEYS) {
    // Lengths alone rule most keys out before the distance is computed.
    if (Math.abs(ours.length - upper.length) > MAX_EDITS) continue;
    const edits = distance(ours, upper);
    if (edits <= MAX_EDITS && (best === undefined || edits < best.edits)) best = { key: ours, edits };
  }
  return best?.key;
}

export function settingsNotices(input: {
  readonly fileKeys: readonly string[];
  readonly settingsFile: string;
  readonly env: NodeJS.ProcessEnv;
}): SettingsNotices {
  const misspellings: Misspelling[] = [];
  for (const key of input.fileKeys) {
    const meant = misspelledKey(key);
    if (meant !== undefined) misspellings.push({ key, source: input.settingsFile, meant });
  }
  for (const key of Object.keys(input.env)) {
    if (input.env[key] === undefined) continue;
    const meant = misspelledKey(key);
    if (meant !== undefined) misspellings.push({ key, source: 'the environment', meant });
  }
  return { ignoredKeys: input.fileKeys.filter((key) => misspelledKey(key) === undefined), misspellings };
}

/** One line per misspelling, as start-up and `doctor` print it. */
export function describeMisspelling(misspelling: Misspelling): string {
  return `${misspelling.key} (in ${misspelling.source}) is not a setting of this worker and is ignored: did you mean ${misspelling.meant}?`;
}
