import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  envelopeSchema,
  inventorySchema,
  isPayloadType,
  meterSchema,
  PAYLOAD_TYPE,
  PAYLOAD_TYPES,
  pauseSchema,
  payloadSchemas,
  registrationSchema,
  SIGNER_ROLE,
  statementKind,
  usageSchema,
} from '../../protocol/src/schemas.js';
import { toBase64, toHex } from '../../src/core/bytes.js';
import {
  formatVerifierKey,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  keyIdFor,
} from '../../src/note/keys.js';
import { NODE_KEY } from './arbitraries.js';

const H = 'ab'.repeat(32);
const IDENTITY = Uint8Array.of(1, ...new Uint8Array(31));

const registration = {
  v: 1,
  lab: 'lab-a.example',
  action: 'add',
  role: 'node',
  key: NODE_KEY.vkey,
  facility: 'f1',
  cluster: 'c1',
  node: 'c1-n001',
  time: '2026-11-27T00:00:00Z',
};
const inventory = {
  v: 1,
  lab: 'lab-a.example',
  time: '2026-11-27T00:00:00Z',
  nodes: [{ facility: 'f1', cluster: 'c1', node: 'c1-n001', gpus: 8, model: 'H100-SXM' }],
};
const pause = {
  v: 1,
  lab: 'lab-a.example',
  id: 'pause-1',
  start: '2026-11-27T00:00:00Z',
  end: null,
  scope: ['*'],
  limits: { maxFlopPerDay: 1e21, allowedWorkloads: ['idle', 'inference', 'maintenance'] },
  reporting: { intervalSeconds: 300, maxDelaySeconds: 900 },
};
const usage = {
  v: 1,
  lab: 'lab-a.example',
  facility: 'f1',
  cluster: 'c1',
  node: 'c1-n001',
  seq: 17,
  prev: H,
  start: '2026-11-27T01:25:00Z',
  end: '2026-11-27T01:30:00Z',
  gpus: 8,
  gpuSeconds: 2400,
  energyJ: 168000,
  tensorActive: 0.0,
  flop: 0,
  workload: 'idle',
  bodyHash: H,
  samples: { count: 2400, root: H },
};
const meter = {
  v: 1,
  facility: 'f1',
  meter: 'm1',
  seq: 3,
  prev: H,
  start: '2026-11-27T00:15:00Z',
  end: '2026-11-27T00:20:00Z',
  energyJ: 2.1e8,
  counterJ: 9.87e12,
};
const envelope = {
  payloadType: PAYLOAD_TYPE.usage,
  payload: 'eyJ2IjoxfQ==',
  signatures: [{ keyid: 'lab-a.example/root+4e14c121', sig: 'AAAA' }],
};

/** A case: the value, and `true` when the schema accepts it or the path of the first issue. */
type Case = [name: string, schema: z.ZodType, value: unknown, expected: true | string];

const without = <T extends object>(o: T, k: keyof T) => {
  const c = { ...o };
  delete c[k];
  return c;
};

const cases: Case[] = [
  // the DESIGN §3 examples
  ['registration example', registrationSchema, registration, true],
  ['inventory example', inventorySchema, inventory, true],
  ['pause example', pauseSchema, pause, true],
  ['usage example', usageSchema, usage, true],
  ['meter example', meterSchema, meter, true],
  ['envelope example', envelopeSchema, envelope, true],

  // v
  ['v 2', usageSchema, { ...usage, v: 2 }, 'v'],
  ['v "1"', meterSchema, { ...meter, v: '1' }, 'v'],
  ['no v', inventorySchema, without(inventory, 'v'), 'v'],

  // strict objects
  ['an unknown top-level key', usageSchema, { ...usage, extra: 1 }, ''],
  [
    'an unknown key in samples',
    usageSchema,
    { ...usage, samples: { ...usage.samples, x: 1 } },
    'samples',
  ],
  [
    'an unknown key in limits',
    pauseSchema,
    { ...pause, limits: { ...pause.limits, x: 1 } },
    'limits',
  ],
  [
    'an unknown key in reporting',
    pauseSchema,
    { ...pause, reporting: { ...pause.reporting, x: 1 } },
    'reporting',
  ],
  [
    'an unknown key in an inventory node',
    inventorySchema,
    { ...inventory, nodes: [{ ...inventory.nodes[0], x: 1 }] },
    'nodes.0',
  ],
  ['a missing key', usageSchema, without(usage, 'bodyHash'), 'bodyHash'],

  // times
  [
    '2024-02-29 (leap year)',
    registrationSchema,
    { ...registration, time: '2024-02-29T00:00:00Z' },
    true,
  ],
  ['2026-02-30', registrationSchema, { ...registration, time: '2026-02-30T00:00:00Z' }, 'time'],
  ['2025-02-29', registrationSchema, { ...registration, time: '2025-02-29T00:00:00Z' }, 'time'],
  [
    'fractional seconds',
    registrationSchema,
    { ...registration, time: '2026-11-27T00:00:00.5Z' },
    'time',
  ],
  ['an offset', registrationSchema, { ...registration, time: '2026-11-27T01:00:00+01:00' }, 'time'],
  ['a number as time', registrationSchema, { ...registration, time: 1_795_737_600 }, 'time'],

  // intervals
  ['usage end == start', usageSchema, { ...usage, end: usage.start }, 'end'],
  ['usage end < start', usageSchema, { ...usage, end: '2026-11-27T01:20:00Z' }, 'end'],
  ['meter end == start', meterSchema, { ...meter, end: meter.start }, 'end'],
  [
    'meter end one second after start',
    meterSchema,
    { ...meter, end: '2026-11-27T00:15:01Z', energyJ: 1 },
    true,
  ],
  ['pause end null (open)', pauseSchema, { ...pause, end: null }, true],
  ['pause end after start', pauseSchema, { ...pause, end: '2026-12-01T00:00:00Z' }, true],
  ['pause end == start', pauseSchema, { ...pause, end: pause.start }, 'end'],
  ['pause end missing', pauseSchema, without(pause, 'end'), 'end'],

  // numbers
  ['negative energyJ', usageSchema, { ...usage, energyJ: -1 }, 'energyJ'],
  ['NaN flop', usageSchema, { ...usage, flop: Number.NaN }, 'flop'],
  ['Infinity counterJ', meterSchema, { ...meter, counterJ: Number.POSITIVE_INFINITY }, 'counterJ'],
  ['energy as a string', meterSchema, { ...meter, energyJ: '2.1e8' }, 'energyJ'],
  ['tensorActive 1', usageSchema, { ...usage, tensorActive: 1 }, true],
  ['tensorActive above 1', usageSchema, { ...usage, tensorActive: 1.01 }, 'tensorActive'],
  [
    'negative maxFlopPerDay',
    pauseSchema,
    { ...pause, limits: { ...pause.limits, maxFlopPerDay: -1 } },
    'limits.maxFlopPerDay',
  ],

  // integers
  ['seq 1.5', usageSchema, { ...usage, seq: 1.5 }, 'seq'],
  ['seq -1', meterSchema, { ...meter, seq: -1 }, 'seq'],
  ['seq 2^53 (not safe)', meterSchema, { ...meter, seq: 2 ** 53 }, 'seq'],
  ['seq 2^53 - 1', meterSchema, { ...meter, seq: 2 ** 53 - 1 }, true],
  ['gpus 8.5', usageSchema, { ...usage, gpus: 8.5 }, 'gpus'],
  [
    'samples.count -1',
    usageSchema,
    { ...usage, samples: { ...usage.samples, count: -1 } },
    'samples.count',
  ],
  [
    'inventory gpus -1',
    inventorySchema,
    { ...inventory, nodes: [{ ...inventory.nodes[0], gpus: -1 }] },
    'nodes.0.gpus',
  ],
  [
    'intervalSeconds 0',
    pauseSchema,
    { ...pause, reporting: { ...pause.reporting, intervalSeconds: 0 } },
    'reporting.intervalSeconds',
  ],
  [
    'intervalSeconds over a day',
    pauseSchema,
    { ...pause, reporting: { ...pause.reporting, intervalSeconds: 86_401 } },
    'reporting.intervalSeconds',
  ],
  [
    'maxDelaySeconds over a week',
    pauseSchema,
    { ...pause, reporting: { ...pause.reporting, maxDelaySeconds: 604_801 } },
    'reporting.maxDelaySeconds',
  ],

  // chains are the verifier's: prev is not tied to seq by the schema
  [
    'seq 0 with a non-zero prev (a chain rule, not a schema rule)',
    usageSchema,
    { ...usage, seq: 0 },
    true,
  ],
  [
    'seq 17 with prev 64 zeros (a chain rule, not a schema rule)',
    usageSchema,
    { ...usage, prev: '0'.repeat(64) },
    true,
  ],

  // gpuSeconds bound
  ['gpuSeconds == gpus × duration', usageSchema, { ...usage, gpuSeconds: 8 * 300 }, true],
  [
    'gpuSeconds just above gpus × duration',
    usageSchema,
    { ...usage, gpuSeconds: 2400.001 },
    'gpuSeconds',
  ],
  ['gpuSeconds > 0 with 0 gpus', usageSchema, { ...usage, gpus: 0, gpuSeconds: 1 }, 'gpuSeconds'],

  // hashes
  ['prev in upper case', usageSchema, { ...usage, prev: H.toUpperCase() }, 'prev'],
  ['prev of 63 digits', meterSchema, { ...meter, prev: H.slice(1) }, 'prev'],
  ['bodyHash of 65 digits', usageSchema, { ...usage, bodyHash: `${H}0` }, 'bodyHash'],
  [
    'samples.root not hex',
    usageSchema,
    { ...usage, samples: { ...usage.samples, root: 'g'.repeat(64) } },
    'samples.root',
  ],

  // lab names
  ['a one-label lab', usageSchema, { ...usage, lab: 'laba' }, true],
  ['a lab in upper case', usageSchema, { ...usage, lab: 'Lab-A.example' }, 'lab'],
  ['a lab with an underscore', usageSchema, { ...usage, lab: 'lab_a.example' }, 'lab'],
  ['a lab label starting with -', usageSchema, { ...usage, lab: '-lab.example' }, 'lab'],
  ['a lab with an empty label', usageSchema, { ...usage, lab: 'lab..example' }, 'lab'],
  ['a lab with a trailing dot', usageSchema, { ...usage, lab: 'lab.example.' }, 'lab'],
  [
    'a lab label of 64 characters',
    usageSchema,
    { ...usage, lab: `${'a'.repeat(64)}.example` },
    'lab',
  ],
  [
    'a lab of 253 characters',
    usageSchema,
    { ...usage, lab: Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.') + '.a' },
    true,
  ],
  [
    'a lab of 254 characters',
    usageSchema,
    { ...usage, lab: Array.from({ length: 4 }, () => 'a'.repeat(62)).join('.') + '.abc' },
    'lab',
  ],

  // identifiers
  ['an id of 64 characters', usageSchema, { ...usage, node: 'n'.repeat(64) }, true],
  ['an id of 65 characters', usageSchema, { ...usage, node: 'n'.repeat(65) }, 'node'],
  ['an empty id', meterSchema, { ...meter, meter: '' }, 'meter'],
  ['an id "."', meterSchema, { ...meter, facility: '.' }, 'facility'],
  ['an id ".."', usageSchema, { ...usage, cluster: '..' }, 'cluster'],
  ['an id "..." (allowed)', usageSchema, { ...usage, cluster: '...' }, true],
  ['an id with a slash', usageSchema, { ...usage, node: 'c1/n001' }, 'node'],
  ['an id with a space', usageSchema, { ...usage, facility: 'f 1' }, 'facility'],
  ['an id with non-ASCII', usageSchema, { ...usage, facility: 'f\u00e9' }, 'facility'],
  ['a pause id with a colon', pauseSchema, { ...pause, id: 'pause:1' }, 'id'],

  // workloads
  ['workload "training"', usageSchema, { ...usage, workload: 'training' }, true],
  ['workload "gaming"', usageSchema, { ...usage, workload: 'gaming' }, 'workload'],
  [
    'allowedWorkloads empty',
    pauseSchema,
    { ...pause, limits: { ...pause.limits, allowedWorkloads: [] } },
    true,
  ],
  [
    'allowedWorkloads with a duplicate',
    pauseSchema,
    { ...pause, limits: { ...pause.limits, allowedWorkloads: ['idle', 'idle'] } },
    'limits.allowedWorkloads',
  ],
  [
    'allowedWorkloads with an unknown workload',
    pauseSchema,
    { ...pause, limits: { ...pause.limits, allowedWorkloads: ['idle', 'sleep'] } },
    'limits.allowedWorkloads.1',
  ],

  // scope
  ['scope facility/cluster entries', pauseSchema, { ...pause, scope: ['f1/c1', 'f2/c7'] }, true],
  ['scope empty', pauseSchema, { ...pause, scope: [] }, 'scope'],
  ['scope facility only', pauseSchema, { ...pause, scope: ['f1'] }, 'scope.0'],
  ['scope facility/cluster/node', pauseSchema, { ...pause, scope: ['f1/c1/n1'] }, 'scope.0'],
  ['scope "*" with another entry', pauseSchema, { ...pause, scope: ['*', 'f1/c1'] }, 'scope'],
  ['scope with a duplicate', pauseSchema, { ...pause, scope: ['f1/c1', 'f1/c1'] }, 'scope'],
  ['scope "../c1"', pauseSchema, { ...pause, scope: ['../c1'] }, 'scope.0'],
  ['scope "f1/.."', pauseSchema, { ...pause, scope: ['f1/..'] }, 'scope.0'],
  ['scope "f1/*"', pauseSchema, { ...pause, scope: ['f1/*'] }, 'scope.0'],

  // registration
  ['action revoke', registrationSchema, { ...registration, action: 'revoke' }, true],
  ['action suspend', registrationSchema, { ...registration, action: 'suspend' }, 'action'],
  ['role lab', registrationSchema, { ...registration, role: 'lab' }, 'role'],
  ['key not a vkey', registrationSchema, { ...registration, key: 'not a key' }, 'key'],
  [
    'key with a wrong key ID',
    registrationSchema,
    { ...registration, key: NODE_KEY.vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+') },
    'key',
  ],
  [
    'key of type 0x04',
    registrationSchema,
    {
      ...registration,
      key: formatVerifierKey('n', KEY_TYPE_COSIGNATURE, NODE_KEY.verifier.publicKey),
    },
    'key',
  ],
  [
    'key that is a small-order point',
    registrationSchema,
    // the identity point (small order) with its correct key ID: only the point check refuses it
    {
      ...registration,
      key: `n+${toHex(keyIdFor('n', KEY_TYPE_ED25519, IDENTITY))}+${toBase64(Uint8Array.of(1, ...IDENTITY))}`,
    },
    'key',
  ],

  // inventory
  ['inventory with no nodes', inventorySchema, { ...inventory, nodes: [] }, true],
  [
    'inventory listing a node twice',
    inventorySchema,
    { ...inventory, nodes: [inventory.nodes[0], { ...inventory.nodes[0], gpus: 4 }] },
    'nodes.1',
  ],
  [
    'inventory with an empty model',
    inventorySchema,
    { ...inventory, nodes: [{ ...inventory.nodes[0], model: '' }] },
    'nodes.0.model',
  ],
  [
    'inventory model with a trailing space',
    inventorySchema,
    { ...inventory, nodes: [{ ...inventory.nodes[0], model: 'H100 ' }] },
    'nodes.0.model',
  ],

  // envelope
  ['envelope with no signatures', envelopeSchema, { ...envelope, signatures: [] }, 'signatures'],
  [
    'envelope with 16 signatures',
    envelopeSchema,
    {
      ...envelope,
      signatures: Array.from({ length: 16 }, (_, i) => ({ keyid: `k${i}+00000000`, sig: 'AAAA' })),
    },
    true,
  ],
  [
    'envelope with 17 signatures',
    envelopeSchema,
    {
      ...envelope,
      signatures: Array.from({ length: 17 }, (_, i) => ({ keyid: `k${i}+00000000`, sig: 'AAAA' })),
    },
    'signatures',
  ],
  [
    'envelope with duplicate keyids',
    envelopeSchema,
    { ...envelope, signatures: [envelope.signatures[0], envelope.signatures[0]] },
    'signatures',
  ],
  [
    'envelope with an unknown payloadType',
    envelopeSchema,
    { ...envelope, payloadType: 'application/json' },
    'payloadType',
  ],
  ['envelope payload unpadded', envelopeSchema, { ...envelope, payload: 'eyJ2IjoxfQ' }, 'payload'],
  [
    'envelope payload with non-zero trailing bits',
    envelopeSchema,
    { ...envelope, payload: 'eyJ2IjoxfR==' },
    'payload',
  ],
  ['envelope payload URL-safe', envelopeSchema, { ...envelope, payload: 'ab-_' }, 'payload'],
  [
    'envelope keyid without a key ID',
    envelopeSchema,
    { ...envelope, signatures: [{ keyid: 'lab-a.example/root', sig: 'AAAA' }] },
    'signatures.0.keyid',
  ],
  [
    'envelope keyid with a space in the name',
    envelopeSchema,
    { ...envelope, signatures: [{ keyid: 'lab a+4e14c121', sig: 'AAAA' }] },
    'signatures.0.keyid',
  ],
  ['envelope with an unknown key', envelopeSchema, { ...envelope, extra: 1 }, ''],
  [
    'envelope signature with an unknown key',
    envelopeSchema,
    { ...envelope, signatures: [{ ...envelope.signatures[0], cert: 'x' }] },
    'signatures.0',
  ],
];

describe('payload and envelope schemas', () => {
  it.each(cases)(
    'given %s, expects %j (true: accepted; else the refused path)',
    (_, schema, value, expected) => {
      const r = schema.safeParse(value);
      expect(r.success ? true : r.error.issues[0]!.path.join('.')).toBe(expected);
    },
  );

  describe('when an inventory lists more than 100,000 nodes', () => {
    const node = (i: number) => ({
      facility: 'f1',
      cluster: 'c1',
      node: `n${i}`,
      gpus: 8,
      model: 'H100',
    });
    it('accepts exactly 100,000 and refuses 100,001', () => {
      const nodes = Array.from({ length: 100_000 }, (_, i) => node(i));
      expect(inventorySchema.safeParse({ ...inventory, nodes }).success).toBe(true);
      nodes.push(node(100_000));
      expect(inventorySchema.safeParse({ ...inventory, nodes }).success).toBe(false);
    });
  });
});

describe('payload types', () => {
  it('maps each of the five payload types to its schema, kind and signer role', () => {
    expect(PAYLOAD_TYPES).toEqual([
      'application/vnd.vpause.registration+json',
      'application/vnd.vpause.inventory+json',
      'application/vnd.vpause.pause+json',
      'application/vnd.vpause.usage+json',
      'application/vnd.vpause.meter+json',
    ]);
    expect(payloadSchemas[PAYLOAD_TYPE.usage]).toBe(usageSchema);
    expect(payloadSchemas[PAYLOAD_TYPE.meter]).toBe(meterSchema);
    expect(statementKind(PAYLOAD_TYPE.pause)).toBe('pause');
    expect(SIGNER_ROLE[PAYLOAD_TYPE.usage]).toBe('node');
    expect(SIGNER_ROLE[PAYLOAD_TYPE.meter]).toBe('meter');
    expect(SIGNER_ROLE[PAYLOAD_TYPE.registration]).toBe('lab');
  });

  it.each([
    ['application/vnd.vpause.usage+json', true],
    ['application/vnd.vpause.Usage+json', false],
    ['application/vnd.vpause.usage+json ', false],
    ['application/json', false],
    [42, false],
  ])('isPayloadType(%j) is %s', (t, ok) => {
    expect(isPayloadType(t)).toBe(ok);
  });
});
