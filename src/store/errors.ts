import type { OwnerRecord } from './ownership.js';

export type EventStoreErrorCode =
  | 'not-a-database'
  | 'corrupt'
  | 'newer-schema'
  | 'older-schema'
  | 'foreign-database'
  | 'unwritable'
  /** Another process owns the log (see `owner`). */
  | 'locked'
  /** A commit failed (disk full, I/O error, read-only file): what it held was dropped, not kept for later. */
  | 'write-failed';

/** The event log cannot be used as it is. The message names the file and says what to do. */
export class EventStoreError extends Error {
  override readonly name = 'EventStoreError';
  constructor(
    readonly code: EventStoreErrorCode,
    readonly path: string,
    message: string,
    cause?: unknown,
    /** For `locked`: who owns the log, when it could be told. */
    readonly owner?: OwnerRecord,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Why SQLite could not write, as a person would say it. */
export function writeFailure(path: string, error: unknown): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const code = String((error as { code?: unknown }).code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  const cause = code.startsWith('SQLITE_FULL')
    ? 'the disk is full'
    : code.startsWith('SQLITE_READONLY')
      ? 'the file is read-only'
      : code.startsWith('SQLITE_IOERR')
        ? 'an I/O error'
        : 'a write error';
  return new EventStoreError(
    'write-failed',
    path,
    `cannot write the event log ${path}: ${cause} (${message}${code === '' ? '' : `, ${code}`})`,
    error,
  );
}
