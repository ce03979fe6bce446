/**
 * `startWitness(config)`: a witness as a running HTTP server, a library function returning
 * something disposable (no process.exit, no signal handling: the CLI wires those).
 */
import { readFile } from 'node:fs/promises';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import {
  parsePrivateKey,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
  verifierKeyOf,
} from '../note/keys.js';
import { createLogger } from '../util/logger.js';
import { createWitnessApp } from './app.js';
import { SqliteWitnessStore } from './sqlite.js';
import { MemoryWitnessStore, type WitnessStore } from './store.js';
import { Witness } from './witness.js';

export interface WitnessServerConfig {
  /** Data directory (`witness.db`). One of data, memory or store is required. */
  data?: string;
  /** In-memory state (tests, simulations): lost on close. */
  memory?: boolean;
  /** Or a store instance, used as it is (and closed on close). */
  store?: WitnessStore;
  host: string;
  port: number;
  /** Path of the witness's private key file (type 0x04), or the key itself. */
  key: string | SignerKey;
  /** Trusted log keys: vkeys (type 0x01) or parsed keys. The origin is the key name. */
  logs: readonly (string | VerifierKey)[];
  /** Clock, ms since the epoch (cosignature timestamps). Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export interface RunningWitness extends AsyncDisposable {
  url: string;
  port: number;
  /** The witness's verifier key (type 0x04), as a policy file lists it. */
  vkey: string;
  witness: Witness;
  close(): Promise<void>;
}

/**
 * Opens the store and starts the HTTP server.
 * @throws {VPauseError} KEY_* for a bad key file or vkey, WITNESS_CONFIG for keys of the wrong
 *   type, WITNESS_STORAGE / WITNESS_STORAGE_LOCKED when the store cannot be opened
 * @throws {Error} when the address cannot be listened on
 */
export async function startWitness(cfg: WitnessServerConfig): Promise<RunningWitness> {
  const logger = cfg.logger ?? createLogger('vpause-witness');
  const signer =
    typeof cfg.key === 'string' ? parsePrivateKey(await readFile(cfg.key, 'utf8')) : cfg.key;
  const logs = cfg.logs.map((k) => (typeof k === 'string' ? parseVerifierKey(k.trim()) : k));
  let store: WitnessStore;
  if (cfg.store !== undefined) store = cfg.store;
  else if (cfg.data !== undefined) store = SqliteWitnessStore.open({ dir: cfg.data });
  else if (cfg.memory) store = new MemoryWitnessStore();
  else throw new TypeError('startWitness: give data, memory or store');

  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vpause_witness_process_' });
  const requests = new Counter({
    name: 'vpause_witness_add_checkpoint_total',
    help: 'add-checkpoint requests, by HTTP status and refusal code',
    labelNames: ['status', 'code'],
    registers: [registry],
  });
  const cosigned = new Gauge({
    name: 'vpause_witness_cosigned_size',
    help: 'Tree size of the latest checkpoint cosigned, per log origin',
    labelNames: ['origin'],
    registers: [registry],
  });
  let witness: Witness;
  try {
    witness = new Witness({
      signer,
      logs,
      store,
      logger,
      ...(cfg.now !== undefined ? { now: cfg.now } : {}),
      observer: {
        outcome: (o) =>
          requests.inc({ status: String(o.status), code: 'code' in o ? o.code : 'OK' }),
        cosigned: (origin, size) => cosigned.set({ origin }, size),
      },
    });
    for (const r of store.all()) cosigned.set({ origin: r.origin }, r.size);
  } catch (e) {
    store.close();
    throw e;
  }
  const vkey = verifierKeyOf(signer).vkey;
  const app = createWitnessApp(witness, {
    name: signer.name,
    metrics: () => registry.metrics(),
    metricsContentType: registry.contentType,
  });
  let server: ReturnType<typeof serve>;
  try {
    server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (e) {
    store.close();
    throw e;
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  logger.info({ url, vkey, logs: witness.origins, driver: store.driver }, 'witness listening');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((r) => {
      server.close(() => r());
      // Keep-alive connections would hold close() open: end them.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
    store.close();
    logger.info('witness stopped');
  };
  return { url, port, vkey, witness, close, [Symbol.asyncDispose]: close };
}
