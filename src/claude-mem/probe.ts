/**
 * Owns asking a port who serves it: this worker (its /api/health names the service), claude-mem's own
 * worker (its /api/health carries the `version` and `workerPath` claude-mem writes), something else, or
 * nobody. Read-only: one GET, bounded in time.
 * May not: act on the answer (doctor.ts and install.ts do).
 */

export type PortOwner =
  | { readonly kind: 'nobody' }
  | { readonly kind: 'session-lifecycle'; readonly version: string | undefined; readonly pid: number | undefined }
  | { readonly kind: 'claude-mem'; readonly version: string | undefined; readonly pid: number | undefined }
  | { readonly kind: 'other'; readonly detail: string };

/** How long a probe waits for an answer: a worker on loopback answers its health in milliseconds. */
const PROBE_TIMEOUT_MS = 2_000;

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function portOwner(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<PortOwner> {
  let response: Response;
  try {
    response = await fetch(`http://${urlHost(host)}:${port}/api/health`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return { kind: 'nobody' };
    return { kind: 'other', detail: code ?? (error instanceof Error ? error.message : String(error)) };
  }
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = await response.json();
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const pid = typeof body?.pid === 'number' ? body.pid : undefined;
  // Before it stopped claiming a `version` there, this worker's health already carried `engine` and `log`.
  if (body?.service === 'session-lifecycle' || (body !== undefined && 'engine' in body && 'log' in body)) {
    return { kind: 'session-lifecycle', version: text(body.serviceVersion) ?? text(body.version), pid };
  }
  if (body !== undefined && (typeof body.version === 'string' || 'workerPath' in body)) {
    return { kind: 'claude-mem', version: text(body.version), pid };
  }
  return { kind: 'other', detail: `GET /api/health answered ${response.status}` };
}

export function describeOwner(owner: PortOwner): string {
  switch (owner.kind) {
    case 'nobody':
      return 'nothing listens there';
    case 'session-lifecycle':
      return `session-lifecycle ${owner.version ?? '(version unknown)'}${owner.pid === undefined ? '' : ` (pid ${owner.pid})`}`;
    case 'claude-mem':
      return `claude-mem's own worker ${owner.version ?? ''}${owner.pid === undefined ? '' : ` (pid ${owner.pid})`}`.replace('  ', ' ');
    case 'other':
      return `another program (${owner.detail})`;
  }
}
