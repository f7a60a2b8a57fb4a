/**
 * Owns the one-writer rule: a log has one owner at a time. The owner holds an exclusive SQLite lock on
 * `<log>.lock` (an OS file lock, released by the kernel when the process dies, so a `kill -9`ed owner
 * never blocks the next start) and writes who it is to `<log>.owner` (pid, port, start time). Anyone
 * else is refused at once, with a message that names the owner, and touches nothing.
 * May not: open the log itself (sqlite-file.ts does, once ownership is held).
 */
import { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreError } from './errors.js';

/** Who owns a log, as `<log>.owner` records it. */
export interface OwnerRecord {
  readonly pid: number;
  /** The port its worker listens on, once known. */
  readonly port: number | null;
  readonly host: string | null;
  readonly startedAt: string;
  readonly version: string | null;
}

export interface Ownership {
  readonly lockPath: string;
  readonly ownerPath: string;
  readonly record: OwnerRecord;
  /** A previous owner's record that was still there: it did not stop cleanly (kill -9, power loss). */
  readonly staleRecord: OwnerRecord | null;
  /** Adds what became known after start (the port, once listening). */
  update(details: Partial<Pick<OwnerRecord, 'port' | 'host' | 'version'>>): void;
  /** Gives the log up: removes the record and releases the lock. */
  release(): void;
}

/** How long a refused process waits for the winner of a simultaneous start to write its record. */
const RECORD_WAIT_MS = 1_000;

export function acquireOwnership(logPath: string, details: Partial<Pick<OwnerRecord, 'port' | 'host' | 'version'>> = {}): Ownership {
  const lockPath = `${logPath}.lock`;
  const ownerPath = `${logPath}.owner`;
  let lock: Database.Database;
  try {
    // No busy timeout: a second worker must be told at once, not after five seconds.
    lock = new Database(lockPath, { timeout: 0 });
  } catch (error) {
    throw new EventStoreError(
      'unwritable',
      logPath,
      `cannot create the lock file ${lockPath}: ${whyNotWritable(dirname(lockPath)) ?? messageOf(error)}`,
      error,
    );
  }
  try {
    lock.pragma('journal_mode = MEMORY'); // no -journal file beside it
    // In exclusive locking mode SQLite never releases a lock it took; the first write takes the exclusive one.
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
    lock.exec('COMMIT');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw ownedByAnother(logPath, ownerPath);
    throw new EventStoreError('unwritable', logPath, `cannot lock ${lockPath}: ${messageOf(error)}`, error);
  }

  const staleRecord = readRecord(ownerPath);
  let record: OwnerRecord = {
    pid: process.pid,
    port: details.port ?? null,
    host: details.host ?? null,
    startedAt: new Date().toISOString(),
    version: details.version ?? null,
  };
  const write = () => {
    const temporary = `${ownerPath}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(record)}\n`);
    renameSync(temporary, ownerPath);
  };
  try {
    write();
  } catch (error) {
    lock.close();
    throw new EventStoreError('unwritable', logPath, `cannot write ${ownerPath}: ${messageOf(error)}`, error);
  }
  let released = false;
  return {
    lockPath,
    ownerPath,
    get record() {
      return record;
    },
    staleRecord: staleRecord?.pid === process.pid ? null : staleRecord,
    update(more) {
      record = { ...record, ...more };
      write();
    },
    release() {
      if (released) return;
      released = true;
      // The lock file stays: unlinking it could let two processes lock two different files.
      if (readRecord(ownerPath)?.pid === process.pid) rmSync(ownerPath, { force: true });
      lock.close();
    },
  };
}

/** The refusal, naming the owner; waits briefly for the record of an owner that is starting right now. */
function ownedByAnother(logPath: string, ownerPath: string): EventStoreError {
  const waitUntil = Date.now() + RECORD_WAIT_MS;
  let owner = liveRecord(ownerPath);
  while (owner === undefined && Date.now() < waitUntil) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    owner = liveRecord(ownerPath);
  }
  const who =
    owner === undefined
      ? 'another worker (starting up)'
      : `another worker (pid ${owner.pid}${owner.port === null ? '' : `, port ${owner.port}`})`;
  return new EventStoreError(
    'locked',
    logPath,
    `${who} owns ${logPath}: stop it first, or give this one its own CLAUDE_MEM_DATA_DIR`,
    undefined,
    owner,
  );
}

/** The record of a process that is alive; a dead writer's leftover does not count. */
function liveRecord(ownerPath: string): OwnerRecord | undefined {
  const record = readRecord(ownerPath);
  if (record === null) return undefined;
  try {
    process.kill(record.pid, 0);
    return record;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? record : undefined;
  }
}

function readRecord(ownerPath: string): OwnerRecord | null {
  try {
    const parsed = JSON.parse(readFileSync(ownerPath, 'utf8')) as Partial<OwnerRecord>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      port: typeof parsed.port === 'number' ? parsed.port : null,
      host: typeof parsed.host === 'string' ? parsed.host : null,
      startedAt: String(parsed.startedAt ?? ''),
      version: typeof parsed.version === 'string' ? parsed.version : null,
    };
  } catch {
    return null;
  }
}

/** Why a directory cannot be written to (read-only file system, permissions), if it cannot. */
function whyNotWritable(directory: string): string | undefined {
  try {
    accessSync(directory, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `${directory} is on a read-only file system`;
    if (code === 'EACCES' || code === 'EPERM') return `${directory} is not writable by this user`;
    return messageOf(error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
