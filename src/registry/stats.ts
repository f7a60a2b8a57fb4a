/**
 * Owns the registry's running counts: disposals by reason, the counters of sessions already gone,
 * refusals; and the `stats()` figure built from them and the live sessions in one walk.
 * May not: change any session or the log.
 */
import { type DisposalReason, noDisposals, type SessionCounters, ZERO_COUNTERS } from '../../machines/session.machine.js';
import { addUsage, lifecycleOf, stateNameOf, type UsageByProvider, usageSum } from '../session/index.js';
import type { LiveSession } from './live-session.js';
import type { SlotPoolStats } from './slots.js';
import type { RegistryStats } from './types.js';

type MutableCounters = { -readonly [K in keyof SessionCounters]: number };

/** Adds `b` into `sum`, in place: stats() walks every live session, so no object per session. */
function addInto(sum: MutableCounters, b: SessionCounters): void {
  // A context logged before a counter existed lacks it: it counts as 0.
  for (const key of Object.keys(sum) as (keyof SessionCounters)[]) sum[key] += b[key] ?? 0;
}

export class RegistryCounters {
  readonly #disposals: Record<DisposalReason, number> = noDisposals();
  readonly #retired: MutableCounters = { ...ZERO_COUNTERS };
  readonly #retiredUsage = usageSum();
  #refusedAtCapacity = 0;
  #refusedQueueFull = 0;
  #refusedLogUnwritable = 0;

  disposed(reason: DisposalReason, counters: SessionCounters, usage?: UsageByProvider): void {
    this.#disposals[reason]++;
    addInto(this.#retired, counters);
    addUsage(this.#retiredUsage, usage);
  }

  refused(kind: 'at-capacity' | 'queue-full' | 'log-unwritable'): void {
    if (kind === 'at-capacity') this.#refusedAtCapacity++;
    else if (kind === 'queue-full') this.#refusedQueueFull++;
    else this.#refusedLogUnwritable++;
  }

  /** One walk over the live sessions; dormant ones are read from the context they keep, not woken. */
  stats(sessions: Iterable<LiveSession>, live: number, slots: SlotPoolStats): RegistryStats {
    const byLifecycle = { active: 0, idle: 0, expiring: 0 };
    const byState: Record<string, number> = {};
    const totals = { ...this.#retired };
    const usageByProvider = usageSum();
    addUsage(usageByProvider, this.#retiredUsage);
    let dormant = 0;
    let frozen = 0;
    for (const session of sessions) {
      if (session.dormant) dormant++;
      if (session.frozen) frozen++;
      const snapshot = session.state();
      const lifecycle = lifecycleOf(snapshot.value);
      if (lifecycle !== 'disposed') byLifecycle[lifecycle]++;
      const state = stateNameOf(snapshot.value);
      byState[state] = (byState[state] ?? 0) + 1;
      addInto(totals, snapshot.context.counters);
      addUsage(usageByProvider, snapshot.context.usageByProvider);
    }
    return {
      live,
      dormant,
      frozen,
      byLifecycle,
      byState,
      slots,
      disposals: { ...this.#disposals },
      refusedAtCapacity: this.#refusedAtCapacity,
      refusedQueueFull: this.#refusedQueueFull,
      refusedLogUnwritable: this.#refusedLogUnwritable,
      totals,
      usageByProvider,
    };
  }
}
