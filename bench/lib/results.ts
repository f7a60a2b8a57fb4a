/**
 * bench/results.json holds every figure, one section per benchmark script; docs/benchmarks.md is
 * rendered from it (bench/report.ts), so the two cannot disagree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export const RESULTS_PATH = new URL('../results.json', import.meta.url);

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
  readonly loadAverage: readonly number[];
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

export interface Section {
  readonly ranAt: string;
  readonly command: string;
  readonly machine: Machine;
  readonly commit: string;
  readonly [figure: string]: unknown;
}

export function readResults(): Record<string, Section> {
  if (!existsSync(RESULTS_PATH)) return {};
  return JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as Record<string, Section>;
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Figures as results.json keeps them: with when, by which command, at which commit and on which machine. */
function stamped(command: string, figures: Record<string, unknown>): Section {
  return { ranAt: new Date().toISOString(), command, commit: commit(), machine: machine(), ...figures };
}

/** Replaces one section of bench/results.json. */
export function writeSection(name: string, command: string, figures: Record<string, unknown>): Section {
  const section = stamped(command, figures);
  const results = readResults();
  results[name] = section;
  writeFileSync(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
  return section;
}

/**
 * Sets one entry of a section of bench/results.json (figures of an earlier tree kept beside the current
 * ones), leaving the rest of the section as it is.
 */
export function writeSubsection(name: string, key: string, command: string, figures: Record<string, unknown>): void {
  const results = readResults();
  const section = results[name];
  if (section === undefined) throw new Error(`bench/results.json has no section ${name} to add ${key} to`);
  results[name] = { ...section, [key]: stamped(command, figures) };
  writeFileSync(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
}

export const round = (value: number, digits = 0) => Math.round(value * 10 ** digits) / 10 ** digits;
export const ratio = (a: number, b: number) => round(a / b, 2);
export const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

export function freeMemoryGb(): number {
  return round(freemem() / 1024 ** 3, 1);
}
