/**
 * The engine contract's suite (conformance.ts) on the Restate engine: a real restate-server (from the
 * npm package, loopback, temporary data), this process's session services registered with it, and the
 * engine over its ingress.
 */
import { startEngine } from '../cluster/support/cluster.js';
import { describeEngineContract } from './conformance.js';

describeEngineContract('restate', async (options) => {
  const cluster = await startEngine(options);
  await cluster.engine.start();
  return { engine: cluster.engine, close: () => cluster.stop() };
});
