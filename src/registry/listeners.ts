/**
 * Owns the registry's listeners: subscription and delivery. A listener that throws is logged and never
 * breaks the session whose event it heard. May not: anything else.
 */
import type { RegistryLogger } from './options.js';
import type { RegistryEvents } from './types.js';

type Listener<K extends keyof RegistryEvents> = (payload: RegistryEvents[K]) => void;

export class Listeners {
  readonly #logger: RegistryLogger;
  readonly #byEvent: { [K in keyof RegistryEvents]: Set<Listener<K>> } = {
    disposed: new Set(),
    expiring: new Set(),
    processed: new Set(),
    slotGranted: new Set(),
  };

  constructor(logger: RegistryLogger) {
    this.#logger = logger;
  }

  on<K extends keyof RegistryEvents>(event: K, listener: Listener<K>): () => void {
    const listeners = this.#byEvent[event] as Set<Listener<K>>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** Whether anyone listens: lets hot paths skip building a payload nobody reads. */
  has(event: keyof RegistryEvents): boolean {
    return this.#byEvent[event].size > 0;
  }

  emit<K extends keyof RegistryEvents>(event: K, payload: RegistryEvents[K]): void {
    for (const listener of this.#byEvent[event] as Set<Listener<K>>) {
      try {
        listener(payload);
      } catch (error) {
        this.#logger.error({ err: error, event }, 'registry listener threw');
      }
    }
  }
}
