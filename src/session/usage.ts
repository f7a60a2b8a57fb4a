/**
 * Owns summing what providers cost: per provider, the batches they answered and the tokens they
 * reported (input, output, cache reads, cache writes), over sessions live and disposed.
 * May not: read anything but the usage it is given.
 */
import { type ProviderUsage, ZERO_PROVIDER_USAGE } from '../../machines/session.machine.js';

export type UsageByProvider = Readonly<Record<string, ProviderUsage>>;
type MutableUsage = { -readonly [K in keyof ProviderUsage]: number };

/** Adds `from` into `into`, in place (stats walk every session: no object per session). */
export function addUsage(into: Record<string, MutableUsage>, from: UsageByProvider | undefined): void {
  if (from === undefined) return;
  for (const [provider, usage] of Object.entries(from)) {
    into[provider] ??= { ...ZERO_PROVIDER_USAGE };
    const sum = into[provider];
    sum.batches += usage.batches ?? 0;
    sum.inputTokens += usage.inputTokens ?? 0;
    sum.outputTokens += usage.outputTokens ?? 0;
    sum.cacheReadTokens += usage.cacheReadTokens ?? 0;
    sum.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
  }
}

/** A fresh sum, to add into. */
export function usageSum(): Record<string, MutableUsage> {
  return {};
}
