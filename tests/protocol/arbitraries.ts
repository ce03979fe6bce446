/** fast-check arbitraries and fixed keys for the protocol tests. */
import fc from 'fast-check';
import {
  type InventoryPayload,
  type MeterPayload,
  PAYLOAD_TYPE,
  type PausePayload,
  type PayloadType,
  type RegistrationPayload,
  type UsagePayload,
  WORKLOADS,
} from '../../protocol/src/schemas.js';
import { formatTime } from '../../protocol/src/time.js';
import { toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import {
  generateKey,
  KEY_TYPE_ED25519,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
} from '../../src/note/keys.js';

/** A deterministic test key pair. */
export interface TestKey {
  signer: SignerKey;
  verifier: VerifierKey;
  vkey: string;
}

/** A fixed Ed25519 key pair whose seed is SHA-256 of `name`. */
export function testKey(name: string, type = KEY_TYPE_ED25519): TestKey {
  const k = generateKey(name, type, () => sha256(utf8(`protocol test ${name}`)));
  return { signer: k.signer, verifier: parseVerifierKey(k.vkey), vkey: k.vkey };
}

export const LAB_KEY = testKey('lab-a.example/root');
export const NODE_KEY = testKey('lab-a.example/node/f1/c1/c1-n001');
export const METER_KEY = testKey('inspector.example/meter/f1/m1');
const NODE_VKEYS = [NODE_KEY.vkey, testKey('n2').vkey, testKey('node/with/slashes').vkey];

export const idArb = fc
  .stringMatching(/^[A-Za-z0-9._-]{1,64}$/)
  .filter((s) => s !== '.' && s !== '..');
const labelArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/);
export const labArb = fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
export const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
/** Seconds between 1970 and 2100. */
export const secondsArb = fc.integer({ min: 0, max: 4_102_444_800 });
export const timeArb = secondsArb.map(formatTime);
export const quantityArb = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  fc.double({ min: 0, max: 1e30, noNaN: true, noDefaultInfinity: true }),
);
const countArb = fc.integer({ min: 0, max: 2 ** 53 - 1 });
const workloadArb = fc.constantFrom(...WORKLOADS);
const intervalArb = fc
  .record({ start: secondsArb, duration: fc.integer({ min: 1, max: 7 * 86_400 }) })
  .map(({ start, duration }) => ({ start, duration, end: start + duration }));

export const registrationArb: fc.Arbitrary<RegistrationPayload> = fc.record({
  v: fc.constant(1 as const),
  lab: labArb,
  action: fc.constantFrom('add' as const, 'revoke' as const),
  role: fc.constant('node' as const),
  key: fc.constantFrom(...NODE_VKEYS),
  facility: idArb,
  cluster: idArb,
  node: idArb,
  time: timeArb,
});

export const inventoryArb: fc.Arbitrary<InventoryPayload> = fc.record({
  v: fc.constant(1 as const),
  lab: labArb,
  time: timeArb,
  nodes: fc.uniqueArray(
    fc.record({
      facility: idArb,
      cluster: idArb,
      node: idArb,
      gpus: fc.integer({ min: 0, max: 1_000_000 }),
      model: fc.stringMatching(/^[!-~](?:[ -~]{0,20}[!-~])?$/),
    }),
    { maxLength: 20, selector: (n) => `${n.facility}/${n.cluster}/${n.node}` },
  ),
});

export const pauseArb: fc.Arbitrary<PausePayload> = fc
  .record({
    lab: labArb,
    id: idArb,
    interval: intervalArb,
    open: fc.boolean(),
    scope: fc.oneof(
      fc.constant('*').map((s) => [s]),
      fc.uniqueArray(
        fc.tuple(idArb, idArb).map(([f, c]) => `${f}/${c}`),
        { minLength: 1, maxLength: 10 },
      ),
    ),
    maxFlopPerDay: quantityArb,
    allowedWorkloads: fc.uniqueArray(workloadArb, { maxLength: 5 }),
    intervalSeconds: fc.integer({ min: 1, max: 86_400 }),
    maxDelaySeconds: fc.integer({ min: 0, max: 604_800 }),
  })
  .map((r) => ({
    v: 1 as const,
    lab: r.lab,
    id: r.id,
    start: formatTime(r.interval.start),
    end: r.open ? null : formatTime(r.interval.end),
    scope: r.scope,
    limits: { maxFlopPerDay: r.maxFlopPerDay, allowedWorkloads: r.allowedWorkloads },
    reporting: { intervalSeconds: r.intervalSeconds, maxDelaySeconds: r.maxDelaySeconds },
  }));

export const usageArb: fc.Arbitrary<UsagePayload> = fc
  .record({
    lab: labArb,
    facility: idArb,
    cluster: idArb,
    node: idArb,
    seq: countArb,
    prev: hashArb,
    interval: intervalArb,
    gpus: fc.integer({ min: 0, max: 100_000 }),
    busy: fc.double({ min: 0, max: 1, noNaN: true }),
    energyJ: quantityArb,
    tensorActive: fc.double({ min: 0, max: 1, noNaN: true }),
    flop: quantityArb,
    workload: workloadArb,
    bodyHash: hashArb,
    samples: fc.record({ count: countArb, root: hashArb }),
  })
  .map((r) => ({
    v: 1 as const,
    lab: r.lab,
    facility: r.facility,
    cluster: r.cluster,
    node: r.node,
    seq: r.seq,
    prev: r.prev,
    start: formatTime(r.interval.start),
    end: formatTime(r.interval.end),
    gpus: r.gpus,
    gpuSeconds: r.busy * (r.gpus * r.interval.duration),
    energyJ: r.energyJ,
    tensorActive: r.tensorActive,
    flop: r.flop,
    workload: r.workload,
    bodyHash: r.bodyHash,
    samples: r.samples,
  }));

export const meterArb: fc.Arbitrary<MeterPayload> = fc
  .record({
    facility: idArb,
    meter: idArb,
    seq: countArb,
    prev: hashArb,
    interval: intervalArb,
    energyJ: quantityArb,
    counterJ: quantityArb,
  })
  .map((r) => ({
    v: 1 as const,
    facility: r.facility,
    meter: r.meter,
    seq: r.seq,
    prev: r.prev,
    start: formatTime(r.interval.start),
    end: formatTime(r.interval.end),
    energyJ: r.energyJ,
    counterJ: r.counterJ,
  }));

/** A valid payload of any kind, with its payload type and the key that signs it. */
export const anyStatementArb: fc.Arbitrary<{
  payloadType: PayloadType;
  payload: object;
  key: TestKey;
}> = fc.oneof(
  registrationArb.map((payload) => ({
    payloadType: PAYLOAD_TYPE.registration,
    payload,
    key: LAB_KEY,
  })),
  inventoryArb.map((payload) => ({ payloadType: PAYLOAD_TYPE.inventory, payload, key: LAB_KEY })),
  pauseArb.map((payload) => ({ payloadType: PAYLOAD_TYPE.pause, payload, key: LAB_KEY })),
  usageArb.map((payload) => ({ payloadType: PAYLOAD_TYPE.usage, payload, key: NODE_KEY })),
  meterArb.map((payload) => ({ payloadType: PAYLOAD_TYPE.meter, payload, key: METER_KEY })),
);
