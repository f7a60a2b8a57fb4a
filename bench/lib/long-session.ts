/**
 * The cost benchmark's session: a prompt, then observations in bursts as a real session makes them (tool
 * uses 1 to 3 s apart while the assistant works, a pause of 15 to 60 s between bursts while it writes
 * and the user reads), a summarize after every 50th observation (the end of a turn). Drawn from a seeded
 * generator, so that every contender and every run gets the same session. Times are session time (ms).
 */
export type LongSessionStep =
  | { readonly kind: 'init'; readonly at: number }
  | { readonly kind: 'observation'; readonly at: number; readonly index: number; readonly marker: string }
  | { readonly kind: 'summarize'; readonly at: number; readonly index: number; readonly marker: string };

export interface LongSessionShape {
  readonly observations: number;
  readonly summarizeEvery: number;
  readonly observationBytes: number;
  readonly burst: { readonly min: number; readonly max: number };
  readonly toolGapMs: { readonly min: number; readonly max: number };
  readonly pauseMs: { readonly min: number; readonly max: number };
  readonly seed: number;
}

export const LONG_SESSION: LongSessionShape = {
  observations: 500,
  summarizeEvery: 50,
  observationBytes: 5_000,
  burst: { min: 5, max: 20 },
  toolGapMs: { min: 1_000, max: 3_000 },
  pauseMs: { min: 15_000, max: 60_000 },
  seed: 21,
};

/** mulberry32: a small, well-known seeded generator. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function longSession(shape: LongSessionShape = LONG_SESSION): LongSessionStep[] {
  const next = random(shape.seed);
  const between = (range: { min: number; max: number }) => range.min + next() * (range.max - range.min);
  const steps: LongSessionStep[] = [{ kind: 'init', at: 0 }];
  let at = 5_000;
  let left = 0;
  for (let index = 1; index <= shape.observations; index++) {
    if (left === 0) {
      if (index > 1) at += between(shape.pauseMs);
      left = Math.round(between(shape.burst));
    } else {
      at += between(shape.toolGapMs);
    }
    left--;
    steps.push({ kind: 'observation', at: Math.round(at), index, marker: `obs:o${index};` });
    if (index % shape.summarizeEvery === 0) {
      at += between(shape.toolGapMs);
      steps.push({
        kind: 'summarize',
        at: Math.round(at),
        index: index / shape.summarizeEvery,
        marker: `sum:s${index / shape.summarizeEvery};`,
      });
    }
  }
  return steps;
}

/** A tool use's hook body of about `bytes` bytes, its marker in the input. */
export function observationBody(contentSessionId: string, step: { index: number; marker: string }, bytes: number) {
  const path = `/repo/src/module-${step.index % 40}.ts`;
  const line = `export const value${step.index} = compute(${step.index}); // the login flow, step ${step.index}\n`;
  return {
    contentSessionId,
    tool_name: step.index % 3 === 0 ? 'Edit' : 'Read',
    tool_input: { file_path: path, marker: step.marker },
    tool_response: { file: { filePath: path, content: line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes - 200) } },
    cwd: '/repo',
  };
}
