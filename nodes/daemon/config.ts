/**
 * `node.yaml`: the attestation node's configuration, validated once by zod. Relative paths are
 * resolved against the file's directory. Example: examples/node.yaml; reference: docs/node.md.
 */
import { z } from 'zod';
import { ID_PATTERN, LAB_PATTERN } from '../../protocol/src/index.js';
import { checkIntervalSeconds } from '../report/interval.js';
import { loadYamlFile, resolveFrom } from './util.js';

const id = z.string().regex(new RegExp(ID_PATTERN), 'an identifier of [A-Za-z0-9._-]');
const posInt = z.int().min(1);

/** `host:port` (IPv6 as `[::1]:port`). */
export const listenSchema = z
  .string()
  .regex(/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'HOST:PORT')
  .transform((s) => {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s)!;
    return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
  })
  .refine((l) => l.port <= 65535, 'port must be at most 65535');

export const intervalSecondsSchema = posInt.refine((s) => {
  try {
    checkIntervalSeconds(s);
    return true;
  } catch {
    return false;
  }
}, 'intervalSeconds must divide 86400');

/** The log a daemon submits to. */
export const logTargetSchema = z.strictObject({
  /** Base URL of the log. */
  url: z.url({ protocol: /^https?$/ }),
  /** The log's verifier key: a vkey, or the path of a .vkey file. */
  key: z.string().min(1),
  /** Checkpoint origin when it differs from the log key's name. */
  origin: z.string().min(1).optional(),
  /** Per-request timeout, ms. */
  timeoutMs: posInt.default(10_000),
});

/** Submission and receipt polling. */
export const submitSchema = z
  .strictObject({
    minBackoffMs: posInt.default(500),
    maxBackoffMs: posInt.default(60_000),
    receiptPollMs: posInt.default(200),
    maxReceiptPollMs: posInt.default(5_000),
  })
  .refine((s) => s.minBackoffMs <= s.maxBackoffMs && s.receiptPollMs <= s.maxReceiptPollMs, {
    message: 'minimum backoffs must not exceed the maxima',
  });

const collectorSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('nvidia-smi'),
    binary: z.string().min(1).default('nvidia-smi'),
    mode: z.enum(['poll', 'stream']).default('poll'),
    periodMs: posInt.default(1000),
    fields: z
      .array(z.string().regex(/^[A-Za-z0-9_.]+$/))
      .min(1)
      .optional(),
    utcOffsetMinutes: z.int().min(-1440).max(1440).default(0),
    host: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('dcgm'),
    url: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:9400/metrics'),
    allowRemote: z.boolean().default(false),
    periodMs: posInt.default(30_000),
    timeoutMs: posInt.default(5_000),
    host: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('replay'),
    /** Capture file(s): one nvidia-smi capture or CSV, or one Prometheus scrape per file. */
    file: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    format: z.enum(['nvidia-smi-capture', 'nvidia-smi-csv', 'prometheus']),
    /** Capture sections to play (nvidia-smi-capture), e.g. [idle, load]. */
    phases: z.array(z.string().min(1)).min(1).optional(),
    /** Spacing of Prometheus scrapes, ms. */
    stepMs: posInt.default(30_000),
    /** Spacing between the last frame and the first of the next pass, ms. */
    loopGapMs: posInt.default(1_000),
    loop: z.boolean().default(true),
    host: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('synthetic'),
    seed: z.union([z.int(), z.string().min(1)]),
    workload: z.enum(['idle', 'inference', 'training', 'bursty']),
    model: z.enum(['H100', 'H200', 'A100', 'B200', 'A30', 'V100']).default('H100'),
    gpus: z.int().min(1).max(1024).default(8),
    periodMs: posInt.default(1000),
    burstMeanMs: posInt.default(60_000),
    energyCounter: z.boolean().default(false),
    host: z.string().min(1).optional(),
  }),
]);

export type CollectorConfig = z.output<typeof collectorSchema>;

/** The node.yaml schema (what the file holds, before paths are resolved). */
export const nodeConfigSchema = z.strictObject({
  identity: z.strictObject({
    lab: z.string().regex(new RegExp(LAB_PATTERN), 'a lowercase DNS-like lab name'),
    facility: id,
    cluster: id,
    node: id,
  }),
  /** The node's private key file (vpause keygen --type note). */
  key: z.string().min(1),
  log: logTargetSchema,
  /** The reporting interval (the pause declaration's), seconds; must divide a day. */
  intervalSeconds: intervalSecondsSchema.default(300),
  /** How long after an interval ends to wait for late samples before reporting it, ms. */
  settleMs: z.int().min(0).default(2_000),
  /** Longest gap between two samples of a GPU still bridged, ms (default 3 collector periods, ≥ 15 s). */
  maxGapMs: posInt.optional(),
  collector: collectorSchema,
  /** Path of the outbox database. */
  outbox: z.string().min(1),
  audit: z
    .strictObject({
      /** Address of the audit API (also /healthz, /metrics). */
      listen: listenSchema,
      /** Verifier keys whose challenges are answered: vkeys or .vkey paths. */
      verifiers: z.array(z.string().min(1)).default([]),
      /** Challenges are answered within ± this many seconds of the node's clock. */
      windowSeconds: posInt.default(300),
    })
    .optional(),
  submit: submitSchema.default({
    minBackoffMs: 500,
    maxBackoffMs: 60_000,
    receiptPollMs: 200,
    maxReceiptPollMs: 5_000,
  }),
  /** Private detail (bodies, samples) of receipted reports is kept this many days. */
  retentionDays: posInt.default(400),
});

export type NodeConfigFile = z.output<typeof nodeConfigSchema>;

/** A node configuration with paths resolved (what `startNode` takes). */
export type NodeConfig = NodeConfigFile;

/** Default bridged gap for a collector: three sample periods, at least 15 s. */
export function defaultMaxGapMs(c: CollectorConfig): number {
  const period =
    c.kind === 'replay' ? Math.max(c.stepMs, 15_000) : 'periodMs' in c ? c.periodMs : 1000;
  return Math.max(15_000, 3 * period);
}

/**
 * Reads and validates node.yaml, resolving relative paths against its directory.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID naming the file and the first problems
 */
export async function loadNodeConfig(path: string): Promise<NodeConfig> {
  const c = await loadYamlFile(path, nodeConfigSchema);
  const r = (p: string) => resolveFrom(path, p);
  return {
    ...c,
    key: r(c.key),
    outbox: r(c.outbox),
    log: { ...c.log, key: vkeyOrPath(c.log.key, r) },
    collector:
      c.collector.kind === 'replay'
        ? {
            ...c.collector,
            file: Array.isArray(c.collector.file) ? c.collector.file.map(r) : r(c.collector.file),
          }
        : c.collector,
    ...(c.audit !== undefined
      ? { audit: { ...c.audit, verifiers: c.audit.verifiers.map((v) => vkeyOrPath(v, r)) } }
      : {}),
  };
}

/** A vkey stays as it is; anything else is a path, resolved. */
export function vkeyOrPath(s: string, resolve: (p: string) => string): string {
  return /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(s.trim()) ? s.trim() : resolve(s);
}
