export type EventStoreErrorCode = 'not-a-database' | 'corrupt' | 'newer-schema' | 'foreign-database' | 'unwritable';

/** The event log cannot be used as it is. The message names the file and says what to do. */
export class EventStoreError extends Error {
  override readonly name = 'EventStoreError';
  constructor(
    readonly code: EventStoreErrorCode,
    readonly path: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
