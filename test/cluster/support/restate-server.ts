import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '../../support/children.js';
import { freePort } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

/** The restate-server binary that `npm ci` installed (inside @restatedev/restate-server-<os>-<arch>). */
export function restateServerBinary(): string {
  const require = createRequire(import.meta.url);
  return require.resolve(`@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`);
}

export interface RestateNodePorts {
  readonly ingress: number;
  readonly admin: number;
  /** Node-to-node (message fabric). */
  readonly fabric: number;
}

export interface RestateNodeOptions {
  /** The node's data lives in `<baseDir>/<nodeName>`; reuse it to restart on the same data. */
  readonly baseDir: string;
  readonly nodeName: string;
  readonly ports: RestateNodePorts;
  /** For a cluster: every node's fabric address, the metadata servers it joins. */
  readonly cluster?: {
    readonly name: string;
    readonly metadataPeers: readonly string[];
    readonly replication: number;
    readonly autoProvision: boolean;
  };
  readonly partitions?: number;
}

export interface RestateNode {
  readonly options: RestateNodeOptions;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ingressUrl: string;
  readonly adminUrl: string;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** SIGKILL by pid (what a crash looks like), then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM by pid, SIGKILL after a few seconds. */
  stop(): Promise<void>;
}

export async function freeRestatePorts(): Promise<RestateNodePorts> {
  const ports = new Set<number>();
  while (ports.size < 3) ports.add(await freePort());
  const [ingress, admin, fabric] = [...ports] as [number, number, number];
  return { ingress, admin, fabric };
}

/** Environment that pins a node to loopback, on the given ports, with nothing sent anywhere else. */
function nodeEnvironment(options: RestateNodeOptions): Record<string, string> {
  const { ports, cluster } = options;
  const env: Record<string, string> = {
    RESTATE_LISTEN_MODE: 'tcp',
    RESTATE_BIND_ADDRESS: `127.0.0.1:${ports.fabric}`,
    RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${ports.fabric}/`,
    RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${ports.ingress}`,
    RESTATE_INGRESS__ADVERTISED_INGRESS_ENDPOINT: `http://127.0.0.1:${ports.ingress}/`,
    RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ports.admin}`,
    RESTATE_ADMIN__ADVERTISED_ADMIN_ENDPOINT: `http://127.0.0.1:${ports.admin}/`,
    RESTATE_DISABLE_TELEMETRY: 'true',
    RESTATE_ADMIN__DISABLE_WEB_UI: 'true',
    RESTATE_DEFAULT_NUM_PARTITIONS: String(options.partitions ?? 4),
    // A test node needs far less than the 2 GiB RocksDB budget meant for a dedicated machine.
    RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE: '256MiB',
    RESTATE_LOG_FORMAT: 'compact',
    RESTATE_LOG_DISABLE_ANSI_CODES: 'true',
    RESTATE_LOG_FILTER: 'warn',
  };
  if (cluster !== undefined) {
    env.RESTATE_CLUSTER_NAME = cluster.name;
    env.RESTATE_AUTO_PROVISION = String(cluster.autoProvision);
    env.RESTATE_DEFAULT_REPLICATION = String(cluster.replication);
    env.RESTATE_METADATA_CLIENT__ADDRESSES = JSON.stringify(cluster.metadataPeers);
  }
  return env;
}

async function ok(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

/** Starts one restate-server node; resolves once it is spawned (see `waitHealthy`). */
export function spawnRestateNode(options: RestateNodeOptions): RestateNode {
  const child = killOnExit(
    spawn(restateServerBinary(), ['--base-dir', options.baseDir, '--node-name', options.nodeName, '--no-logo'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...nodeEnvironment(options) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid!;
  const node: RestateNode = {
    options,
    child,
    pid,
    ingressUrl: `http://127.0.0.1:${options.ports.ingress}`,
    adminUrl: `http://127.0.0.1:${options.ports.admin}`,
    output,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && child.signalCode === null && process.kill(pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return node;
}

/** Admin and ingress answer. */
export async function waitHealthy(node: RestateNode, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      if (node.child.exitCode !== null) throw new Error(`restate-server exited early:\n${node.output.join('')}`);
      return (await ok(`${node.adminUrl}/health`)) && (await ok(`${node.ingressUrl}/restate/health`));
    },
    { timeoutMs: timeoutMs, what: () => `restate-server ${node.options.nodeName} healthy\n${node.output.join('').slice(-3_000)}` },
  );
}

/** A single-node Restate in a temp directory, on free loopback ports. `restart()` reuses the same data and ports. */
export async function startRestate(): Promise<{
  readonly node: () => RestateNode;
  readonly baseDir: string;
  restart(): Promise<RestateNode>;
  stop(): Promise<void>;
}> {
  const baseDir = mkdtempSync(join(tmpdir(), 'restate-'));
  const ports = await freeRestatePorts();
  let node = spawnRestateNode({ baseDir, nodeName: 'n1', ports });
  try {
    await waitHealthy(node);
  } catch (error) {
    await node.kill();
    rmSync(baseDir, { recursive: true, force: true });
    throw error;
  }
  return {
    node: () => node,
    baseDir,
    async restart() {
      node = spawnRestateNode({ baseDir, nodeName: 'n1', ports });
      await waitHealthy(node);
      return node;
    },
    async stop() {
      await node.kill();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

/**
 * Three (or `size`) restate-server nodes on loopback forming one cluster: every node runs every role
 * (ingress, admin, worker, log-server, metadata-server), the metadata store is replicated by Raft
 * across all of them, and logs and partitions are replicated on `replication` nodes. Node 1 provisions
 * the cluster; the others join it.
 */
export async function startRestateCluster(size = 3, replication = 2) {
  const baseDir = mkdtempSync(join(tmpdir(), 'restate-cluster-'));
  const ports: RestateNodePorts[] = [];
  for (let i = 0; i < size; i++) ports.push(await freeRestatePorts());
  const metadataPeers = ports.map((port) => `http://127.0.0.1:${port.fabric}`);
  const nodes: RestateNode[] = [];
  const stop = async () => {
    for (const node of nodes) await node.kill();
    rmSync(baseDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        spawnRestateNode({
          baseDir,
          nodeName: `n${i + 1}`,
          ports: ports[i]!,
          cluster: { name: 'session-lifecycle-test', metadataPeers, replication, autoProvision: i === 0 },
        }),
      );
    }
    for (const node of nodes) await waitHealthy(node, 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, baseDir, stop };
}
