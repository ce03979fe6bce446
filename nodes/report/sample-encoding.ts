/**
 * Canonical encoding of one telemetry sample, the leaf data of the sample Merkle tree.
 *
 * Encoding `vpause-sample-jcs/v1`: the RFC 8785 (JCS) canonical JSON of the {@link GpuSample}
 * object, UTF-8, with exactly the fields the sample has (absent optional fields are omitted, never
 * `null`), keys sorted by JCS, numbers in JCS (ECMAScript) form. Example:
 *
 *     {"memUsedMiB":19818,"model":"NVIDIA H100 80GB HBM3","powerW":631.95,"smClockMHz":1980,
 *      "t":1784016773353,"utilGpu":1,"uuid":"GPU-00000000-0000-0000-0000-000000000000"}
 *
 * (one line). Leaves are ordered by `t`, then `uuid` (byte order), so that a verifier given a
 * sample and its index can check the order, and the leaf hash is RFC 6962 `SHA-256(0x00 || bytes)`.
 * Pure.
 */

import { jcsBytes } from '../../protocol/src/jcs.js';
import { fromUtf8 } from '../../src/core/bytes.js';
import { TelemetryError } from '../collectors/errors.js';
import { assertGpuSample, type GpuSample } from '../collectors/sample.js';

/** Name of the encoding, recorded in the report body. */
export const SAMPLE_ENCODING = 'vpause-sample-jcs/v1';

const KEYS = [
  't',
  'uuid',
  'model',
  'powerW',
  'energyMJ',
  'utilGpu',
  'smActive',
  'tensorActive',
  'memUsedMiB',
  'smClockMHz',
  'host',
] as const satisfies ReadonlyArray<keyof GpuSample>;

/**
 * Encodes one sample (after checking it against the sample schema).
 * @throws {TelemetryError} `SAMPLE_INVALID` when the sample violates the schema
 */
export function encodeSample(s: GpuSample): Uint8Array {
  assertGpuSample(s);
  const o: Record<string, unknown> = {};
  for (const k of KEYS) if (s[k] !== undefined) o[k] = s[k];
  return jcsBytes(o);
}

/**
 * Decodes leaf bytes back to a sample, accepting only the canonical encoding (re-encoding must
 * give the same bytes), so one sample has exactly one leaf.
 * @throws {TelemetryError} `SAMPLE_INVALID` for bytes that are not a canonically encoded sample
 */
export function decodeSample(bytes: Uint8Array): GpuSample {
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(bytes));
  } catch (e) {
    throw new TelemetryError('SAMPLE_INVALID', 'sample is not UTF-8 JSON', { cause: e });
  }
  assertGpuSample(v);
  const again = encodeSample(v);
  if (again.length !== bytes.length || again.some((x, i) => x !== bytes[i])) {
    throw new TelemetryError('SAMPLE_INVALID', 'sample is not in canonical encoding');
  }
  return v;
}

/** Leaf order: by time, then UUID. */
export function compareSamples(a: GpuSample, b: GpuSample): number {
  if (a.t !== b.t) return a.t - b.t;
  return a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0;
}
