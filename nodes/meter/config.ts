/**
 * `meter.yaml`: the facility meter signer's configuration, validated once by zod. Relative paths
 * are resolved against the file's directory. Example: examples/meter.yaml; reference: docs/node.md.
 */
import { z } from 'zod';
import { ID_PATTERN, TIME_PATTERN } from '../../protocol/src/index.js';
import {
  intervalSecondsSchema,
  listenSchema,
  logTargetSchema,
  submitSchema,
  vkeyOrPath,
} from '../daemon/config.js';
import { loadYamlFile, resolveFrom } from '../daemon/util.js';

const id = z.string().regex(new RegExp(ID_PATTERN), 'an identifier of [A-Za-z0-9._-]');
const posInt = z.int().min(1);

const sourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('synthetic'),
    seed: z.union([z.int(), z.string().min(1)]),
    periodMs: posInt.default(1000),
    pue: z.number().min(1).max(5).default(1.3),
    baselineW: z.number().min(0).default(20_000),
    noise: z.number().min(0).max(0.5).default(0.01),
    gpus: z
      .array(
        z.strictObject({
          model: z.enum(['H100', 'H200', 'A100', 'B200', 'A30', 'V100']),
          count: z.int().min(1).max(1_000_000),
          workload: z.enum(['idle', 'inference', 'training', 'bursty']),
        }),
      )
      .min(1),
    initialCounterJ: z.number().min(0).optional(),
  }),
  z.strictObject({
    kind: z.literal('replay'),
    /** CSV with columns time (RFC 3339 or Unix ms) and counterJ. */
    file: z.string().min(1),
    /** Data time of the first reading (RFC 3339); later ones keep their spacing. */
    shiftTo: z.string().regex(new RegExp(TIME_PATTERN)).optional(),
  }),
  z.strictObject({
    kind: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }),
    periodMs: posInt.default(5_000),
    timeoutMs: posInt.default(5_000),
    counterField: z.string().min(1).default('counterJ'),
    timeField: z.string().min(1).optional(),
    /** Factor from the counter's unit to joules (3600000 for kWh). */
    scale: z.number().positive().default(1),
  }),
]);

export type MeterSourceConfig = z.output<typeof sourceSchema>;

/** The meter.yaml schema. */
export const meterConfigSchema = z.strictObject({
  identity: z.strictObject({ facility: id, meter: id }),
  /** The meter's private key file (listed in the log's ADMIT.txt as `meter <facility> <vkey>`). */
  key: z.string().min(1),
  log: logTargetSchema,
  intervalSeconds: intervalSecondsSchema.default(300),
  /** How long after an interval ends to wait before settling it, ms. */
  settleMs: z.int().min(0).default(2_000),
  source: sourceSchema,
  outbox: z.string().min(1),
  /** Address for /healthz, /metrics and /openapi.json (optional). */
  listen: listenSchema.optional(),
  submit: submitSchema.default({
    minBackoffMs: 500,
    maxBackoffMs: 60_000,
    receiptPollMs: 200,
    maxReceiptPollMs: 5_000,
  }),
});

export type MeterConfig = z.output<typeof meterConfigSchema>;

/**
 * Reads and validates meter.yaml, resolving relative paths against its directory.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID naming the file and the first problems
 */
export async function loadMeterConfig(path: string): Promise<MeterConfig> {
  const c = await loadYamlFile(path, meterConfigSchema);
  const r = (p: string) => resolveFrom(path, p);
  return {
    ...c,
    key: r(c.key),
    outbox: r(c.outbox),
    log: { ...c.log, key: vkeyOrPath(c.log.key, r) },
    source: c.source.kind === 'replay' ? { ...c.source, file: r(c.source.file) } : c.source,
  };
}
