import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../../machines/session.machine.js';
import { DEFAULT_OUT_DIR } from '../../scripts/build-dashboard.js';
import { renderStatechartSvg, statechartEdges, statePaths } from '../../scripts/statechart-svg.js';
import type { AssetManifest } from '../../src/dashboard/index.js';

describe("the dashboard's statechart", () => {
  it('draws every state and every transition of the machine, each addressable by the page', async () => {
    const svg = await renderStatechartSvg(sessionMachine);
    const states = statePaths(sessionMachine);
    expect(states).toEqual(
      expect.arrayContaining([
        'active',
        'active.waiting',
        'active.processing',
        'active.backoff',
        'active.paused',
        'idle',
        'expiring',
        'disposed',
      ]),
    );
    for (const state of states) expect(svg).toContain(`data-state="${state}"`);
    const drawn = [...svg.matchAll(/<g class="state[^"]*" data-state="([^"]+)"/g)].map((m) => m[1]);
    expect(drawn.sort()).toEqual([...states].sort());

    const edges = statechartEdges(sessionMachine);
    for (const edge of edges) {
      expect(svg).toContain(`<g class="edge" data-edge="${edge.source}-&gt;${edge.target}"`);
      for (const event of edge.events) expect(svg).toContain(`>${event}<`);
    }
    // The lifecycle itself and the ways out of every live state.
    const pairs = edges.map((e) => `${e.source}->${e.target}`);
    expect(pairs).toEqual(
      expect.arrayContaining(['idle->expiring', 'expiring->disposed', 'expiring->active', 'active->disposed', 'idle->disposed']),
    );
  });

  it('is what the build serves: laid out afresh from the machine, so it cannot drift', async () => {
    const manifest = JSON.parse(readFileSync(join(DEFAULT_OUT_DIR, 'manifest.json'), 'utf8')) as AssetManifest;
    const file = Object.keys(manifest.files).find((name) => name.startsWith('statechart-'))!;
    expect(manifest.files[file]!.contentType).toBe('image/svg+xml; charset=utf-8');
    expect(readFileSync(join(DEFAULT_OUT_DIR, file), 'utf8')).toBe(await renderStatechartSvg(sessionMachine));
  });
});
