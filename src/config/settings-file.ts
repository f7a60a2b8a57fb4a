/**
 * Owns reading `$CLAUDE_MEM_DATA_DIR/settings.json`: a flat JSON object of strings (numbers and
 * booleans are accepted too), shared with claude-mem, whose own keys are set aside unread (their names
 * are returned, so that start-up can list them and spot a misspelling of ours); and adding one key to it
 * (`install claude-mem`), every other key kept as it was.
 * May not: validate values (load.ts does, with the key table).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.js';
import { SETTINGS, type SettingKey } from './settings.js';

export interface SettingsFile {
  /** This worker's keys, as written (numbers and booleans as text). */
  readonly values: Partial<Record<SettingKey, string>>;
  /** Every other key of the file, in its order: claude-mem's own, or a misspelling. */
  readonly otherKeys: readonly string[];
}

export function readSettingsFile(path: string): SettingsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { values: {}, otherKeys: [] };
    if (code === 'ENOTDIR') {
      throw new ConfigError(
        'CLAUDE_MEM_DATA_DIR',
        `${dirname(path)} is not a directory: point CLAUDE_MEM_DATA_DIR at a directory (it is created if missing)`,
      );
    }
    throw new ConfigError('settings.json', `cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('settings.json', `${path} is not valid JSON (${(error as Error).message}); fix or remove it`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('settings.json', `${path} must hold a JSON object of "KEY": "value" pairs`);
  }
  const values: Partial<Record<SettingKey, string>> = {};
  const otherKeys: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (!Object.hasOwn(SETTINGS, key)) {
      otherKeys.push(key); // claude-mem keeps its own keys in the same file
      continue;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') values[key as SettingKey] = String(value);
    else
      throw new ConfigError(
        key,
        `${key} in ${path} is ${JSON.stringify(value)}; expected a string: ${SETTINGS[key as SettingKey].allowed}`,
      );
  }
  return { values, otherKeys };
}

/**
 * Sets `key` to `value` in the settings file, creating it (and its directory) if needed; every other key
 * stays as it was. Written whole to a temporary file and renamed over the old one, so claude-mem's hooks
 * reading it meanwhile see either version, never half of one. Formatted as claude-mem writes it.
 */
export function writeSetting(path: string, key: SettingKey, value: string): void {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError('settings.json', `cannot update ${path}: ${(error as Error).message}; fix or remove it`);
    }
  }
  if (typeof current !== 'object' || current === null || Array.isArray(current)) {
    throw new ConfigError('settings.json', `${path} must hold a JSON object of "KEY": "value" pairs`);
  }
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ ...current, [key]: value }, null, 2)}\n`);
  renameSync(temporary, path);
}
