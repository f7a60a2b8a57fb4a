/** The dashboard page: one event stream in, the overview and the session page out. */
import type {
  DisposalBucket,
  DisposalRecord,
  MemorySample,
  StatsSummary,
  StreamMessage,
  WorkerFacts,
} from '../../src/dashboard/protocol.js';
import { drawDisposals, drawMemory } from './charts.js';
import { type ConnectionState, connectStream, storedToken, storeToken, Unauthorized } from './connection.js';
import { byId, clock, costTable, count, duration, el, setText } from './dom.js';
import { MemoriesView } from './memories.js';
import { SessionPage } from './session-page.js';
import { SessionsTable } from './sessions.js';

const MAX_RECENT_DISPOSALS = 100;

let facts: WorkerFacts | undefined;
let stats: StatsSummary | undefined;
/** Server clock minus this tab's clock, so countdowns follow the worker's deadlines. */
let offset = 0;
let memory: MemorySample[] = [];
const buckets = new Map<number, DisposalBucket>();
let recent: DisposalRecord[] = [];
const serverNow = () => Date.now() + offset;

const table = new SessionsTable(
  byId<HTMLTableElement>('sessions-table'),
  byId('sessions-note'),
  byId<HTMLSelectElement>('filter-project'),
  serverNow,
);
const sessionPage = new SessionPage(byId('session-view'), document.body.dataset.statechart ?? '', serverNow, (error) => {
  if (error instanceof Unauthorized) askForToken('This worker needs its token.');
});
const memoriesView = new MemoriesView(byId('memories-view'), (error) => {
  if (error instanceof Unauthorized) askForToken('This worker needs its token.');
});
/** Scaled to the samples by default: against a limit of gigabytes, a heap of megabytes would be a sliver. */
let fitMemory = true;

function applyMessage(message: StreamMessage): void {
  offset = message.now - Date.now();
  stats = message.stats;
  if (message.type === 'snapshot') {
    facts = message.worker;
    table.replaceAll(message.sessions);
    memory = [...message.memory];
    buckets.clear();
    recent = [...message.recentDisposals].reverse();
  } else {
    table.apply(message.upserts, message.removed);
    const lastAt = memory.at(-1)?.at ?? -1;
    memory.push(...message.memory.filter((sample) => sample.at > lastAt));
    recent = [...[...message.recentDisposals].reverse(), ...recent];
    const current = sessionPage.current;
    if (current !== undefined && (message.upserts.some((row) => row.sessionDbId === current) || message.removed.includes(current))) {
      sessionPage.changed();
    }
  }
  for (const bucket of message.disposals) buckets.set(bucket.start, bucket);
  const windowMs = memoryWindow();
  memory = memory.filter((sample) => sample.at >= message.now - windowMs);
  for (const start of buckets.keys()) if (start < message.now - windowMs - (facts?.disposalBucketMs ?? 0)) buckets.delete(start);
  recent = dedupe(recent).slice(0, MAX_RECENT_DISPOSALS);
  scheduleRender();
}

const memoryWindow = () => facts?.windowMs ?? 3_600_000;

function dedupe(records: DisposalRecord[]): DisposalRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => {
    const key = `${record.sessionDbId}@${record.at}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

let renderPending = false;
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    render();
  });
}

/** Where the sessions run, and how fresh the page is when they are not in this process. */
function engineInfo(worker: WorkerFacts): string {
  if (worker.engine.ownership === 'exclusive') return '';
  const every = worker.engine.pollMs === null ? '' : ` every ${duration(worker.engine.pollMs)}`;
  return ` · sessions in ${worker.engine.kind} at ${worker.engine.location}, read${every}`;
}

function render(): void {
  if (facts === undefined || stats === undefined) return;
  setText(
    byId('worker-info'),
    `v${facts.version} · pid ${facts.pid} · up ${duration(serverNow() - facts.startedAt)} · TTL ${duration(facts.idleTtlMs)} + grace ${duration(facts.graceMs)}${engineInfo(facts)}`,
  );
  const cards: Record<string, string> = {
    // Where no capacity applies (a cluster keeps every session on disk): the count alone.
    live: facts.engine.capacity ? `${count(stats.live)} / ${count(facts.maxActiveSessions)}` : count(stats.live),
    active: count(stats.byLifecycle.active),
    idle: count(stats.byLifecycle.idle),
    expiring: count(stats.byLifecycle.expiring),
    dormant: stats.dormant === null ? 'n/a' : count(stats.dormant),
    slots: `${count(stats.slots.inUse)} / ${count(stats.slots.capacity)}`,
    waiting: count(stats.slots.waiting),
    disposed: count(Object.values(stats.disposals).reduce((a, b) => a + b, 0)),
  };
  for (const [name, value] of Object.entries(cards)) setText(byId('summary').querySelector(`[data-count="${name}"] .value`)!, value);
  byId('cost-table').replaceChildren(costTable(stats.costByProvider ?? {}));
  table.render();
  const now = serverNow();
  const windowMs = memoryWindow();
  drawDisposals(
    byId('disposals-chart'),
    byId('disposals-legend'),
    [...buckets.values()].sort((a, b) => a.start - b.start),
    stats.disposals,
    {
      now,
      windowMs,
      bucketMs: facts.disposalBucketMs,
    },
  );
  drawMemory(byId('memory-chart'), byId('memory-legend'), memory, { now, windowMs, limitBytes: facts.memoryLimitBytes, fit: fitMemory });
  renderRecent();
}

function renderRecent(): void {
  const tbody = byId<HTMLTableElement>('recent-table').tBodies[0]!;
  setText(
    byId('recent-note'),
    recent.length === 0
      ? 'No session has been disposed since the worker started.'
      : `The last ${recent.length} disposals since the worker started.`,
  );
  tbody.replaceChildren(
    ...recent.map((record) =>
      el(
        'tr',
        { 'data-session-id': record.sessionDbId, 'data-reason': record.reason },
        el('td', {}, clock(record.at)),
        el('td', {}, el('a', { href: `#/session/${record.sessionDbId}` }, `#${record.sessionDbId} ${record.contentSessionId}`)),
        el('td', {}, record.project || '—'),
        el('td', {}, el('span', { class: `badge reason-${record.reason}` }, record.reason)),
        el('td', { class: 'num' }, count(record.processed)),
        el('td', { class: 'num' }, count(record.droppedItems)),
      ),
    ),
  );
}

function showConnection(state: ConnectionState, detail?: string): void {
  const indicator = byId('connection');
  indicator.dataset.state = state;
  const text: Record<ConnectionState, string> = {
    connecting: 'connecting…',
    live: 'live',
    retrying: `reconnecting${detail ? ` (${detail})` : ''}…`,
    unauthorized: 'token needed',
  };
  setText(indicator, text[state]);
  if (state === 'unauthorized')
    askForToken(storedToken() === null ? 'This worker needs its token (CLAUDE_MEM_WORKER_TOKEN).' : 'That token was refused. Try again.');
}

const stream = connectStream({ message: applyMessage, state: showConnection });

function askForToken(message: string): void {
  setText(byId('token-message'), message);
  byId('token-panel').hidden = false;
  byId<HTMLInputElement>('token-input').focus();
}

byId<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('token-input');
  if (input.value === '') return;
  storeToken(input.value);
  input.value = '';
  byId('token-panel').hidden = true;
  stream.retryNow();
  route();
});

byId<HTMLSelectElement>('filter-state').addEventListener('change', (event) =>
  table.setFilter({ state: (event.target as HTMLSelectElement).value }),
);
byId<HTMLSelectElement>('filter-project').addEventListener('change', (event) =>
  table.setFilter({ project: (event.target as HTMLSelectElement).value }),
);
byId<HTMLInputElement>('filter-text').addEventListener('input', (event) =>
  table.setFilter({ text: (event.target as HTMLInputElement).value.trim() }),
);
byId<HTMLInputElement>('memory-fit').addEventListener('change', (event) => {
  fitMemory = (event.target as HTMLInputElement).checked;
  scheduleRender();
});
byId<HTMLFormElement>('lookup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = byId<HTMLInputElement>('lookup-input').value.trim();
  if (/^[1-9]\d*$/.test(value)) location.hash = `#/session/${value}`;
});

/** `#/session/12` shows a session, `#/memories` the memories; anything else the overview. Only a number is ever in the address. */
function route(): void {
  const match = /^#\/session\/([1-9]\d*)$/.exec(location.hash);
  const memories = location.hash === '#/memories';
  const overview = byId('overview');
  const sessionView = byId('session-view');
  const memoriesSection = byId('memories-view');
  memoriesSection.hidden = !memories;
  if (match) {
    overview.hidden = true;
    sessionView.hidden = false;
    void sessionPage.show(Number(match[1]));
  } else if (memories) {
    sessionPage.hide();
    sessionView.hidden = true;
    overview.hidden = true;
    void memoriesView.search();
  } else {
    sessionPage.hide();
    sessionView.hidden = true;
    overview.hidden = false;
    scheduleRender();
  }
}
window.addEventListener('hashchange', route);
window.addEventListener('resize', scheduleRender);
route();

window.setInterval(() => {
  table.tick();
  sessionPage.tick();
}, 1_000);
// Charts move with time even when nothing happens.
window.setInterval(scheduleRender, 5_000);
