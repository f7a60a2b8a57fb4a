/** Two small SVG charts, drawn from scratch on each update (a few hundred points at most). */
import { DISPOSAL_REASONS, type DisposalBucket, type DisposalReasonName, type MemorySample } from '../../src/dashboard/protocol.js';
import { bytes, count, el, setText, svg } from './dom.js';

const HEIGHT = 180;
const MARGIN = { top: 10, right: 12, bottom: 22, left: 64 };

function frame(container: HTMLElement, label: string): { root: SVGSVGElement; width: number; plotWidth: number; plotHeight: number } {
  // As wide as its box (a phone's too); the SVG scales, so a narrow one only draws fewer pixels.
  const width = Math.max(240, Math.floor(container.clientWidth || 600));
  const root = svg('svg', { viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: 'img', 'aria-label': label });
  return { root, width, plotWidth: width - MARGIN.left - MARGIN.right, plotHeight: HEIGHT - MARGIN.top - MARGIN.bottom };
}

function axes(
  root: SVGSVGElement,
  plotWidth: number,
  plotHeight: number,
  yMax: number,
  yLabel: (v: number) => string,
  windowMs: number,
): void {
  for (const fraction of [0, 0.5, 1]) {
    const y = MARGIN.top + plotHeight * (1 - fraction);
    root.append(svg('line', { class: 'grid', x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y, y2: y }));
    root.append(svg('text', { class: 'tick', x: MARGIN.left - 6, y: y + 4, 'text-anchor': 'end' }, yLabel(yMax * fraction)));
  }
  const minutes = Math.round(windowMs / 60_000);
  for (const [fraction, text] of [
    [0, `−${minutes} min`],
    [0.5, `−${Math.round(minutes / 2)} min`],
    [1, 'now'],
  ] as const) {
    root.append(
      svg(
        'text',
        {
          class: 'tick',
          x: MARGIN.left + plotWidth * fraction,
          y: HEIGHT - 6,
          'text-anchor': fraction === 0 ? 'start' : fraction === 1 ? 'end' : 'middle',
        },
        text,
      ),
    );
  }
}

/** Stacked bars per bucket over the last `windowMs`; the legend counts every disposal since the worker started. */
export function drawDisposals(
  container: HTMLElement,
  legend: HTMLElement,
  buckets: readonly DisposalBucket[],
  totals: Readonly<Record<DisposalReasonName, number>>,
  options: { now: number; windowMs: number; bucketMs: number },
): void {
  const { root, plotWidth, plotHeight } = frame(container, 'Disposals per minute by reason');
  const start = options.now - options.windowMs;
  const visible = buckets.filter((b) => b.start + options.bucketMs > start);
  const perBucket = (b: DisposalBucket) => DISPOSAL_REASONS.reduce((sum, r) => sum + b.counts[r], 0);
  const yMax = Math.max(4, ...visible.map(perBucket));
  axes(root, plotWidth, plotHeight, yMax, (v) => String(Math.round(v)), options.windowMs);
  const barWidth = Math.max(2, (plotWidth * options.bucketMs) / options.windowMs - 2);
  for (const bucket of visible) {
    const x = MARGIN.left + ((Math.max(bucket.start, start) - start) / options.windowMs) * plotWidth;
    let stacked = 0;
    for (const reason of DISPOSAL_REASONS) {
      const n = bucket.counts[reason];
      if (n === 0) continue;
      const h = (n / yMax) * plotHeight;
      const y = MARGIN.top + plotHeight - stacked - h;
      stacked += h;
      root.append(
        svg(
          'rect',
          {
            class: `bar reason-${reason}`,
            'data-reason': reason,
            'data-count': n,
            x,
            y,
            width: Math.min(barWidth, MARGIN.left + plotWidth - x),
            height: h,
          },
          svg('title', {}, `${n} × ${reason} at ${new Date(bucket.start).toLocaleTimeString('en-GB')}`),
        ),
      );
    }
  }
  container.replaceChildren(root);
  if (legend.childElementCount === 0) {
    for (const reason of DISPOSAL_REASONS) {
      legend.append(
        el(
          'li',
          { 'data-reason': reason },
          el('span', { class: `swatch reason-${reason}` }),
          `${reason} `,
          el('strong', { class: 'count' }, '0'),
        ),
      );
    }
  }
  for (const reason of DISPOSAL_REASONS) setText(legend.querySelector(`[data-reason="${reason}"] .count`)!, count(totals[reason]));
}

/** Heap used and RSS over the last `windowMs`, and the heap level above which idle sessions are shed. */
export function drawMemory(
  container: HTMLElement,
  legend: HTMLElement,
  samples: readonly MemorySample[],
  options: { now: number; windowMs: number; limitBytes: number | null; fit: boolean },
): void {
  const { root, plotWidth, plotHeight } = frame(container, 'Heap used and RSS over the last hour, with the memory-pressure limit');
  const start = options.now - options.windowMs;
  const visible = samples.filter((s) => s.at >= start);
  const dataMax = Math.max(1, ...visible.map((s) => Math.max(s.heapUsedBytes, s.rssBytes)));
  const limitBytes = options.limitBytes;
  const yMax = options.fit || limitBytes === null ? dataMax * 1.15 : Math.max(limitBytes, dataMax) * 1.08;
  axes(root, plotWidth, plotHeight, yMax, bytes, options.windowMs);
  const x = (at: number) => MARGIN.left + ((at - start) / options.windowMs) * plotWidth;
  const y = (value: number) => MARGIN.top + plotHeight * (1 - value / yMax);
  // No limit: the sessions are not in this process (Restate), so nothing is shed here.
  if (limitBytes !== null && limitBytes <= yMax) {
    root.append(svg('line', { class: 'limit', x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y(limitBytes), y2: y(limitBytes) }));
    root.append(
      svg('text', { class: 'limit-label', x: MARGIN.left + 4, y: y(limitBytes) - 4 }, `memory-pressure limit ${bytes(limitBytes)}`),
    );
  } else if (limitBytes !== null) {
    root.append(
      svg(
        'text',
        { class: 'limit-label', x: MARGIN.left + 4, y: MARGIN.top + 10 },
        `memory-pressure limit ${bytes(limitBytes)} (above the chart)`,
      ),
    );
  }
  for (const [series, pick] of [
    ['rss', (s: MemorySample) => s.rssBytes],
    ['heap', (s: MemorySample) => s.heapUsedBytes],
  ] as const) {
    if (visible.length === 0) continue;
    const d = visible.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.at).toFixed(1)} ${y(pick(s)).toFixed(1)}`).join(' ');
    root.append(svg('path', { class: `series ${series}`, d }));
    if (visible.length === 1)
      root.append(svg('circle', { class: `series ${series}`, cx: x(visible[0]!.at), cy: y(pick(visible[0]!)), r: 3 }));
  }
  container.replaceChildren(root);
  const last = visible.at(-1);
  if (last === undefined) {
    setText(legend, 'no sample yet');
    return;
  }
  // The key: each series' colour beside its name and latest value.
  const key = (series: 'heap' | 'rss', name: string, value: number) =>
    el('span', { class: 'key' }, el('span', { class: `swatch ${series}` }), ` ${name} ${bytes(value)}`);
  const rest = `${limitBytes === null ? 'no shedding (sessions live in Restate)' : `limit ${bytes(limitBytes)}`} · ${visible.length} sample${visible.length === 1 ? '' : 's'}`;
  legend.replaceChildren(key('heap', 'heap used', last.heapUsedBytes), ' · ', key('rss', 'RSS', last.rssBytes), ` · ${rest}`);
}
