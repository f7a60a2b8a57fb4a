/**
 * Owns the set of live sessions: by durable id, by the content session id the hooks use, and in order
 * of recency (least recently addressed first), which is what capacity eviction scans.
 * May not: send events to sessions, read or write the log.
 */

import type { SessionTarget } from '../engine/index.js';
import type { LiveSession } from './live-session.js';

export class SessionTable {
  readonly #byId = new Map<number, LiveSession>();
  readonly #byContentId = new Map<string, number>();

  get size(): number {
    return this.#byId.size;
  }

  get(sessionDbId: number): LiveSession | undefined {
    return this.#byId.get(sessionDbId);
  }

  has(sessionDbId: number): boolean {
    return this.#byId.has(sessionDbId);
  }

  find(target: SessionTarget): LiveSession | undefined {
    const sessionDbId = 'sessionDbId' in target ? target.sessionDbId : this.#byContentId.get(target.contentSessionId);
    return sessionDbId === undefined ? undefined : this.#byId.get(sessionDbId);
  }

  add(session: LiveSession): void {
    this.#byId.set(session.sessionDbId, session);
    this.#byContentId.set(session.contentSessionId, session.sessionDbId);
  }

  /** Moves the session to the most recent end (a Map keeps insertion order). */
  markRecent(session: LiveSession): void {
    if (this.#byId.delete(session.sessionDbId)) this.#byId.set(session.sessionDbId, session);
  }

  remove(sessionDbId: number, contentSessionId: string): void {
    this.#byId.delete(sessionDbId);
    // A revived content session may already map to a newer incarnation's id.
    if (this.#byContentId.get(contentSessionId) === sessionDbId) this.#byContentId.delete(contentSessionId);
  }

  /** Least recently addressed first. */
  values(): IterableIterator<LiveSession> {
    return this.#byId.values();
  }

  clear(): void {
    this.#byId.clear();
    this.#byContentId.clear();
  }
}
