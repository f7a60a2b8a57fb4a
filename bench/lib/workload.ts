/**
 * The workload of the soak and the cost benchmarks: a session is a prompt, 100 observations of about
 * 5 KB (one every 3 s), a summarize, then silence (no complete, as in real use). Every string is built
 * fresh and flat, so that keeping it costs its real size (a shared or concatenated string would not).
 */
export const OBSERVATIONS_PER_SESSION = 100;
export const OBSERVATION_GAP_MS = 3_000;
export const OBSERVATION_BYTES = 5_000;
export const REPLY_BYTES = 1_000;

function flat(seed: string, bytes: number): string {
  const unit = `${seed} `.padEnd(50, '.');
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

export const promptOf = (session: number) => flat(`Fix the login bug in session ${session}; the test is flaky`, 1_000);
export const observationOf = (session: number, item: number) =>
  flat(`<tool_use><tool_name>Edit</tool_name> session ${session} item ${item} src/auth/login.ts`, OBSERVATION_BYTES);
export const lastMessageOf = (session: number) => flat(`Session ${session}: the login test waits for the ready event now`, 2_000);

/** The agent all contenders share: an answer of about 1 KB, asynchronously, at no other cost. */
export const reply = (prompt: string): Promise<string> => Promise.resolve(flat(`<observation> ${prompt.slice(0, 60)}`, REPLY_BYTES));

/** The steps of one session, as offsets from its arrival. */
export type Step = { readonly kind: 'init' } | { readonly kind: 'observe'; readonly item: number } | { readonly kind: 'summarize' };

export function stepAt(index: number): { step: Step; offsetMs: number } | undefined {
  if (index === 0) return { step: { kind: 'init' }, offsetMs: 0 };
  if (index <= OBSERVATIONS_PER_SESSION) return { step: { kind: 'observe', item: index }, offsetMs: index * OBSERVATION_GAP_MS };
  if (index === OBSERVATIONS_PER_SESSION + 1)
    return { step: { kind: 'summarize' }, offsetMs: (OBSERVATIONS_PER_SESSION + 1) * OBSERVATION_GAP_MS };
  return undefined;
}
