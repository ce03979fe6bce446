/**
 * The statements of a large, honest pause log, really signed, in log order: the lab's node
 * registrations, its inventory and pause, then every reporting interval's idle usage report from
 * each node followed by the facility meter's reading. bench:verify builds its 200,082-entry log
 * from it, and the verifier's end-to-end tests smaller ones; both take the log's keys, its
 * cosigned checkpoint and the trust policy that verifies it from here too.
 */
import { makeStatement, PAYLOAD_TYPE, payloadHash, ZERO_HASH } from '../../protocol/src/index.js';
import { formatTime } from '../../protocol/src/time.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { parseVPausePolicy, type VPausePolicy } from '../../src/policy/vpause-policy.js';
import { signCheckpoint } from '../../src/tlog/checkpoint.js';
import { signCosignature } from '../../src/tlog/cosignature.js';
import { type TestKey, testKey } from './world.js';

/** The keys of a pause log: the log's, one witness's, the lab's root, the meter's, each node's. */
export interface PauseLogKeys {
  logKey: TestKey;
  witness: TestKey;
  root: TestKey;
  meterKey: TestKey;
  nodeKeys: TestKey[];
}

/**
 * The keys of a pause log hosted at `<site>.example` for `lab` with `nodes` nodes (the same names
 * give the same keys: bench/out/ caches the bench's log by them).
 */
export function pauseLogKeys(site: string, lab: string, nodes: number): PauseLogKeys {
  return {
    logKey: testKey(`${site}.example/log`),
    witness: testKey(`witness.${site}.example`, true),
    root: testKey(`${lab}/root`),
    meterKey: testKey(`meter.f1.${site}.example`),
    nodeKeys: Array.from({ length: nodes }, (_, i) => testKey(`${lab}/node/f1/c1/n${i}`)),
  };
}

/** The checkpoint note of a tree, signed by the log and cosigned by the witness at `cosignedAt`. */
export function pauseLogCheckpoint(
  keys: PauseLogKeys,
  size: number,
  rootHash: Uint8Array,
  cosignedAt: number,
): string {
  const note = signCheckpoint(
    { origin: keys.logKey.signer.name, size, rootHash, extensions: [] },
    keys.logKey.signer,
  );
  return (
    note + signCosignature(note.slice(0, note.indexOf('\n\n') + 1), keys.witness.signer, cosignedAt)
  );
}

/**
 * The trust policy for the log at `url`: its key, the witness as the quorum, the lab's root key,
 * facility f1 (PUE 1.1–1.4, 150 kW baseline, 1 % meter uncertainty) with its meter, alpha 0.001.
 */
export function pauseLogPolicy(keys: PauseLogKeys, url: string): VPausePolicy {
  return parseVPausePolicy(
    [
      `log ${keys.logKey.vkey} ${url}`,
      `witness w0 ${keys.witness.vkey}`,
      'quorum w0',
      `lab ${keys.root.vkey}`,
      'facility f1 pue 1.1 1.4 baseline-w 150000 meter-sigma 0.01',
      `meter f1 ${keys.meterKey.vkey}`,
      'alpha 0.001',
      '',
    ].join('\n'),
  );
}

export interface PauseLogSpec {
  lab: string;
  root: TestKey;
  /** one per node; node i is f1/c1/n<i> */
  nodeKeys: readonly TestKey[];
  /** the meter m1 of facility f1 */
  meterKey: TestKey;
  /** the pause start, POSIX seconds (registrations and inventory an hour before) */
  t0: number;
  intervalSeconds: number;
  intervals: number;
  /** the meter's energy for interval k, J (asked once per interval, in order) */
  meterEnergyJ: (k: number) => number;
}

/** Every node's report per interval: 8 idle GPUs, 168 kJ. */
export const IDLE_NODE_J = 168_000;

/** Index of node `node`'s report `seq` in a log of `nodes` nodes. */
export function usageIndex(nodes: number, node: number, seq: number): number {
  return nodes + 2 + seq * (nodes + 1) + node;
}

export function* pauseLogEntries(spec: PauseLogSpec): Generator<Uint8Array> {
  const { lab, root, nodeKeys, meterKey, t0, intervalSeconds: I } = spec;
  const time = formatTime(t0 - 3600);
  for (let i = 0; i < nodeKeys.length; i++) {
    yield makeStatement(
      PAYLOAD_TYPE.registration,
      {
        v: 1,
        lab,
        action: 'add',
        role: 'node',
        key: nodeKeys[i]!.vkey,
        facility: 'f1',
        cluster: 'c1',
        node: `n${i}`,
        time,
      },
      root.signer,
    ).entry;
  }
  yield makeStatement(
    PAYLOAD_TYPE.inventory,
    {
      v: 1,
      lab,
      time,
      nodes: nodeKeys.map((_, i) => ({
        facility: 'f1',
        cluster: 'c1',
        node: `n${i}`,
        gpus: 8,
        model: 'H100-SXM',
      })),
    },
    root.signer,
  ).entry;
  yield makeStatement(
    PAYLOAD_TYPE.pause,
    {
      v: 1,
      lab,
      id: 'pause-1',
      start: formatTime(t0),
      end: null,
      scope: ['*'],
      limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle', 'inference', 'maintenance'] },
      reporting: { intervalSeconds: I, maxDelaySeconds: 900 },
    },
    root.signer,
  ).entry;
  const prev = nodeKeys.map(() => ZERO_HASH);
  let meterPrev = ZERO_HASH;
  let counter = 0;
  for (let k = 0; k < spec.intervals; k++) {
    const start = t0 + k * I;
    for (let i = 0; i < nodeKeys.length; i++) {
      const s = makeStatement(
        PAYLOAD_TYPE.usage,
        {
          v: 1,
          lab,
          facility: 'f1',
          cluster: 'c1',
          node: `n${i}`,
          seq: k,
          prev: prev[i]!,
          start: formatTime(start),
          end: formatTime(start + I),
          gpus: 8,
          gpuSeconds: 2400,
          energyJ: IDLE_NODE_J,
          tensorActive: 0,
          flop: 0,
          workload: 'idle',
          bodyHash: toHex(sha256(utf8(`body ${i} ${k}`))),
          samples: { count: 2400, root: toHex(sha256(utf8(`samples ${i} ${k}`))) },
        },
        nodeKeys[i]!.signer,
      );
      prev[i] = payloadHash(Buffer.from(s.envelope.payload, 'base64'));
      yield s.entry;
    }
    const energyJ = spec.meterEnergyJ(k);
    counter += energyJ;
    const m = makeStatement(
      PAYLOAD_TYPE.meter,
      {
        v: 1,
        facility: 'f1',
        meter: 'm1',
        seq: k,
        prev: meterPrev,
        start: formatTime(start),
        end: formatTime(start + I),
        energyJ,
        counterJ: counter,
      },
      meterKey.signer,
    );
    meterPrev = payloadHash(Buffer.from(m.envelope.payload, 'base64'));
    yield m.entry;
  }
}
