/**
 * `startLog(config)`: the log service as a running HTTP server, a library function returning
 * something disposable (no process.exit, no signal handling: the CLI wires those).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import type { Logger } from 'pino';
import { parsePrivateKey, type SignerKey, verifierKeyOf } from '../note/keys.js';
import { parseAdmit } from '../policy/admit.js';
import { createLogger } from '../util/logger.js';
import { type AdmitIndex, indexAdmitList } from './admission.js';
import { createLogApp } from './app.js';
import { createLogMetrics } from './metrics.js';
import { defaultThreads } from './prepare-pool.js';
import { ProofIndex } from './proof-index.js';
import { LogService, type LogServiceConfig } from './service.js';
import { openStorage } from './storage/index.js';
import type { LogStorage } from './storage/types.js';
import { createWitnessClient, type WitnessClient } from './witness-client.js';

export interface LogServerConfig {
  /** Data directory (SQLite database); also where PostgreSQL deployments may keep nothing. */
  data?: string;
  /** PostgreSQL connection string: selects the PostgreSQL driver. */
  db?: string;
  /** PostgreSQL schema (default vpause). */
  dbSchema?: string;
  /** In-memory storage (tests, simulations). */
  memory?: boolean;
  /** Or a storage instance to use as it is. */
  storage?: LogStorage;
  host: string;
  port: number;
  /** Path of the log's private key file, or the key itself. */
  key: string | SignerKey;
  /** Path of ADMIT.txt. */
  admitFile: string;
  origin?: string;
  logger?: Logger;
  /** Extra service options (batching, integration interval, publication hook). */
  service?: Partial<Omit<LogServiceConfig, 'storage' | 'signer' | 'admit' | 'logger' | 'metrics'>>;
  /**
   * Path of a C2SP tlog-policy file naming the witnesses (with URLs) and the quorum: the log then
   * serves only checkpoints cosigned to that quorum (src/log/witness-client.ts). Replaces
   * `service.publish`.
   */
  witnessPolicy?: string;
  /**
   * Worker threads that parse submissions and verify their signatures (0: all on the event
   * loop). Default: one per core where there is more than one core, else 0.
   */
  threads?: number;
  /** SQLite storage on its own thread (`--data` only; see src/log/storage/sqlite-thread.ts). */
  sqliteThread?: boolean;
}

export interface RunningLog extends AsyncDisposable {
  url: string;
  port: number;
  service: LogService;
  /** Re-reads ADMIT.txt (SIGHUP). A bad file is refused and the old list stays. */
  reloadAdmit(): Promise<void>;
  close(): Promise<void>;
}

export async function loadAdmit(path: string): Promise<AdmitIndex> {
  return indexAdmitList(parseAdmit(await readFile(path, 'utf8'), { file: path }));
}

/**
 * Opens storage, checks the stored checkpoint against the tiles, starts the integrator and the
 * HTTP server.
 * @throws {VPauseError} bad key or ADMIT file, storage locked or corrupt
 */
export async function startLog(cfg: LogServerConfig): Promise<RunningLog> {
  const logger = cfg.logger ?? createLogger('vpause-log');
  const signer =
    typeof cfg.key === 'string' ? parsePrivateKey(await readFile(cfg.key, 'utf8')) : cfg.key;
  const admit = await loadAdmit(cfg.admitFile);
  const storage =
    cfg.storage ??
    (await openStorage({
      ...(cfg.data !== undefined ? { data: cfg.data } : {}),
      ...(cfg.db !== undefined ? { db: cfg.db } : {}),
      ...(cfg.dbSchema !== undefined ? { schema: cfg.dbSchema } : {}),
      ...(cfg.memory ? { memory: true } : {}),
      ...(cfg.sqliteThread === true ? { sqliteThread: true } : {}),
    }));
  const metrics = createLogMetrics();
  // ---- witnessing (issue 4): the publication hook of src/log/witness-client.ts ----------------
  let witnessing: WitnessClient | undefined;
  if (cfg.witnessPolicy !== undefined) {
    try {
      witnessing = await createWitnessClient(cfg.witnessPolicy, {
        consistencyProof: (oldSize, size) => service.consistencyProof(oldSize, size),
        onPublish: (size, note) => service.setPublished(size, note),
        logKey: verifierKeyOf(signer),
        logger,
        registry: metrics.registry,
      });
    } catch (e) {
      await storage.close();
      throw e;
    }
  }
  // ---------------------------------------------------------------------------------------------
  // The proof index lives beside the SQLite database, whose lock on the data directory makes
  // this process its only writer (./proof-index.ts). PostgreSQL proofs read the database.
  let proofIndex: ProofIndex | undefined;
  if (cfg.storage === undefined && cfg.db === undefined && cfg.data !== undefined) {
    try {
      proofIndex = ProofIndex.open(join(cfg.data, 'proof-index.bin'));
    } catch (e) {
      await witnessing?.close();
      await storage.close();
      throw e;
    }
  }
  const service = new LogService({
    threads: cfg.threads ?? defaultThreads(),
    ...cfg.service,
    ...(proofIndex !== undefined ? { proofIndex } : {}),
    ...(witnessing !== undefined ? { publish: witnessing.publish } : {}),
    storage,
    signer,
    admit,
    logger,
    metrics,
    ...(cfg.origin !== undefined ? { origin: cfg.origin } : {}),
  });
  try {
    await service.start();
  } catch (e) {
    proofIndex?.close();
    await witnessing?.close();
    await storage.close();
    throw e;
  }
  const app = createLogApp(service, {
    metrics: async () => {
      metrics.pending.set(service.pending);
      return metrics.registry.metrics();
    },
    metricsContentType: metrics.registry.contentType,
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }, () => resolve(s));
    s.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port;
  const url = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  logger.info({ url, origin: service.origin, driver: storage.driver }, 'log listening');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((r) => server.close(() => r()));
    await witnessing?.close();
    await service.close();
    await storage.close();
    logger.info('log stopped');
  };
  return {
    url,
    port,
    service,
    close,
    [Symbol.asyncDispose]: close,
    reloadAdmit: async () => {
      try {
        service.setAdmitList(await loadAdmit(cfg.admitFile));
        logger.info({ file: cfg.admitFile }, 'admission list reloaded');
      } catch (e) {
        logger.error({ err: e }, 'admission list not reloaded: keeping the previous one');
      }
    },
  };
}
