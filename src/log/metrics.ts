/** Prometheus metrics of the log service (prom-client), one registry per service instance. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface LogMetrics {
  registry: Registry;
  ingest: Counter<'result'>;
  batchSize: Histogram;
  sequenceSeconds: Histogram;
  integrationSeconds: Histogram;
  treeSize: Gauge;
  publishedSize: Gauge;
  sequencer: Gauge;
  pending: Gauge;
  proofIndexLeaves: Gauge;
  proofIndexRewrites: Counter;
  prepared: Counter<'path'>;
}

export function createLogMetrics(registry = new Registry(), defaults = true): LogMetrics {
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'vpause_log_' });
  return {
    registry,
    ingest: new Counter({
      name: 'vpause_log_ingest_total',
      help: 'Statements received, by result (ok, duplicate, or the error code)',
      labelNames: ['result'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'vpause_log_sequence_batch_size',
      help: 'Statements per durable sequencing transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
      registers: [registry],
    }),
    sequenceSeconds: new Histogram({
      name: 'vpause_log_sequence_seconds',
      help: 'Duration of a durable sequencing transaction',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    integrationSeconds: new Histogram({
      name: 'vpause_log_integration_seconds',
      help: 'Duration of one integration: read leaves, build tiles, sign and persist a checkpoint',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    treeSize: new Gauge({
      name: 'vpause_log_tree_size',
      help: 'Integrated tree size',
      registers: [registry],
    }),
    publishedSize: new Gauge({
      name: 'vpause_log_published_size',
      help: 'Size of the checkpoint being served',
      registers: [registry],
    }),
    sequencer: new Gauge({
      name: 'vpause_log_is_sequencer',
      help: '1 while this process holds the sequencer lease',
      registers: [registry],
    }),
    pending: new Gauge({
      name: 'vpause_log_pending',
      help: 'Statements waiting for a sequencing transaction',
      registers: [registry],
    }),
    proofIndexLeaves: new Gauge({
      name: 'vpause_log_proof_index_leaves',
      help: 'Leaves covered by the proof index (full level-0 tiles × 256)',
      registers: [registry],
    }),
    proofIndexRewrites: new Counter({
      name: 'vpause_log_proof_index_rewrites_total',
      help: 'Proof index tiles rewritten from the database after a block failed its check',
      registers: [registry],
    }),
    prepared: new Counter({
      name: 'vpause_log_prepared_total',
      help:
        'Submitted bodies prepared, by path: packed (canonical usage and meter entries, read in ' +
        'one pass over the bytes) or parsed (everything else, through the strict parser)',
      labelNames: ['path'],
      registers: [registry],
    }),
  };
}
