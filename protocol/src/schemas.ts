/**
 * zod schemas for vpause statements: the single source of truth for their shape.
 * JSON Schema (protocol/schemas/) is generated from these; see protocol/SPEC.md for the rules.
 *
 * Every payload object is strict (unknown keys are refused) and carries `"v": 1`. Cross-field
 * rules (end after start, gpuSeconds within gpus × duration, unique entries) are refinements:
 * they hold here but a JSON Schema validator does not see them. Chain rules (`prev`, `seq`) span
 * statements and are the verifier's, not the schema's.
 */
import { z } from 'zod';
import { KEY_TYPE_ED25519, parseVerifierKey } from '../../src/note/keys.js';
import { isTime, parseTime, TIME_PATTERN } from './time.js';

// ---------------------------------------------------------------------------------------------
// Payload types

/** DSSE payloadType of each statement kind. */
export const PAYLOAD_TYPE = {
  registration: 'application/vnd.vpause.registration+json',
  inventory: 'application/vnd.vpause.inventory+json',
  pause: 'application/vnd.vpause.pause+json',
  usage: 'application/vnd.vpause.usage+json',
  meter: 'application/vnd.vpause.meter+json',
} as const;

/** A statement kind: `registration`, `inventory`, `pause`, `usage` or `meter`. */
export type StatementKind = keyof typeof PAYLOAD_TYPE;
/** One of the five vpause payload types. */
export type PayloadType = (typeof PAYLOAD_TYPE)[StatementKind];

/** The five statement kinds, in the order of DESIGN §3. */
export const STATEMENT_KINDS = Object.keys(PAYLOAD_TYPE) as StatementKind[];
/** The five payload types, in the order of DESIGN §3. */
export const PAYLOAD_TYPES = Object.values(PAYLOAD_TYPE) as PayloadType[];

/** True when `s` is one of the five vpause payload types. */
export function isPayloadType(s: unknown): s is PayloadType {
  return typeof s === 'string' && (PAYLOAD_TYPES as string[]).includes(s);
}

/** The statement kind of a payload type. */
export function statementKind(t: PayloadType): StatementKind {
  return STATEMENT_KINDS[PAYLOAD_TYPES.indexOf(t)]!;
}

/** Which role's key signs each statement kind (DESIGN §1, §3). */
export const SIGNER_ROLE = {
  [PAYLOAD_TYPE.registration]: 'lab',
  [PAYLOAD_TYPE.inventory]: 'lab',
  [PAYLOAD_TYPE.pause]: 'lab',
  [PAYLOAD_TYPE.usage]: 'node',
  [PAYLOAD_TYPE.meter]: 'meter',
} as const satisfies Record<PayloadType, 'lab' | 'node' | 'meter'>;

// ---------------------------------------------------------------------------------------------
// Primitives (patterns are exported so that other code and the spec quote the same text)

/** Facility, cluster, node, meter and pause identifiers: 1–64 of `[A-Za-z0-9._-]`, not `.`/`..`. */
export const ID_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9._-]{1,64}$';
/** A lab: a lowercase DNS-like name (LDH labels of 1–63, dot-separated, at most 253 in all). */
export const LAB_PATTERN =
  '^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$';
/** A SHA-256 value: 64 lowercase hex digits. */
export const HASH_PATTERN = '^[0-9a-f]{64}$';
/** Key names vpause accepts: 1–255 printable ASCII characters other than space and `+`. */
export const KEY_NAME_PATTERN = '^[!-*,-~]{1,255}$';
/** An Ed25519 (type 0x01) C2SP vkey: name, 8 hex key-ID digits, base64 of 0x01 || 32 bytes. */
export const VKEY_PATTERN = '^[!-*,-~]{1,255}\\+[0-9a-f]{8}\\+A[Q-Za-f][A-Za-z0-9+/]{42}$';
/** A DSSE keyid as vpause uses it: the signer's key name and hex key ID joined by `+`. */
export const KEYID_PATTERN = '^[!-*,-~]{1,255}\\+[0-9a-f]{8}$';
/** Canonical padded standard base64 (RFC 4648 §4; the unused trailing bits are zero). */
export const BASE64_PATTERN =
  '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$';
/** A pause scope entry: `*` (everything the lab declared) or `facility/cluster`. */
export const SCOPE_PATTERN =
  '^(?:\\*|(?!\\.{1,2}/)[A-Za-z0-9._-]{1,64}/(?!\\.{1,2}$)[A-Za-z0-9._-]{1,64})$';
/** A GPU model name: 1–64 printable ASCII characters, no leading or trailing space. */
export const MODEL_PATTERN = '^[!-~](?:[ -~]{0,62}[!-~])?$';

/** Most nodes one inventory statement may list. */
export const MAX_INVENTORY_NODES = 100_000;
/** Most entries of a pause scope. */
export const MAX_SCOPE_ENTRIES = 1_000;
/** Bounds of the pause reporting interval and delay, in seconds. */
export const MAX_INTERVAL_SECONDS = 86_400;
export const MAX_DELAY_SECONDS = 604_800;
/** Most signatures on one envelope. */
export const MAX_SIGNATURES = 16;

/** Workload classes a usage report declares and a pause may allow. */
export const WORKLOADS = ['idle', 'inference', 'training', 'maintenance', 'mixed'] as const;
export type Workload = (typeof WORKLOADS)[number];

const version = z.literal(1).describe('protocol version, always 1');
const time = z
  .string()
  .regex(new RegExp(TIME_PATTERN))
  .describe('RFC 3339 UTC time, second precision, Z');
const lab = z
  .string()
  .regex(new RegExp(LAB_PATTERN))
  .describe('lab identity, a lowercase DNS-like name');
const id = z.string().regex(new RegExp(ID_PATTERN));
const hash = z.string().regex(new RegExp(HASH_PATTERN)).describe('hex SHA-256');
const count = z.int().min(0);
const quantity = z.number().min(0);
const workload = z.enum(WORKLOADS);

function isEd25519Vkey(s: string): boolean {
  try {
    return parseVerifierKey(s).type === KEY_TYPE_ED25519;
  } catch {
    return false;
  }
}

const vkey = z
  .string()
  .regex(new RegExp(VKEY_PATTERN))
  .refine(isEd25519Vkey, 'not a valid Ed25519 vkey (key ID or public key rejected)')
  .describe('C2SP verifier key of an Ed25519 (type 0x01) key');

type Ctx = { addIssue(i: { code: 'custom'; message: string; path: PropertyKey[] }): void };

function endAfterStart(v: { start: string; end: string | null }, ctx: Ctx): void {
  if (v.end !== null && v.end <= v.start) {
    ctx.addIssue({ code: 'custom', message: 'end must be after start', path: ['end'] });
  }
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** Registration: a lab root key adds or revokes a node key for one facility/cluster/node. */
export const registrationSchema = z
  .strictObject({
    v: version,
    lab,
    action: z.enum(['add', 'revoke']),
    role: z.literal('node'),
    key: vkey,
    facility: id,
    cluster: id,
    node: id,
    time,
  })
  .meta({
    title: 'vpause registration payload',
    description: `payloadType ${PAYLOAD_TYPE.registration}; signed by the lab root key`,
  });

const inventoryNode = z.strictObject({
  facility: id,
  cluster: id,
  node: id,
  gpus: count,
  model: z.string().regex(new RegExp(MODEL_PATTERN)),
});

/** Inventory: the fleet a lab declares (each facility/cluster/node once). */
export const inventorySchema = z
  .strictObject({
    v: version,
    lab,
    time,
    nodes: z.array(inventoryNode).max(MAX_INVENTORY_NODES),
  })
  .superRefine((v, ctx) => {
    const seen = new Set<string>();
    v.nodes.forEach((n, i) => {
      const k = `${n.facility}/${n.cluster}/${n.node}`;
      if (seen.has(k)) {
        ctx.addIssue({ code: 'custom', message: `node ${k} listed twice`, path: ['nodes', i] });
      }
      seen.add(k);
    });
  })
  .meta({
    title: 'vpause inventory payload',
    description: `payloadType ${PAYLOAD_TYPE.inventory}; signed by the lab root key; (facility, cluster, node) unique`,
  });

/** Pause declaration: scope, limits and reporting obligations from `start` until `end` (or open). */
export const pauseSchema = z
  .strictObject({
    v: version,
    lab,
    id,
    start: time,
    end: time.nullable(),
    scope: z
      .array(z.string().regex(new RegExp(SCOPE_PATTERN)))
      .min(1)
      .max(MAX_SCOPE_ENTRIES),
    limits: z.strictObject({
      maxFlopPerDay: quantity,
      allowedWorkloads: z.array(workload).max(WORKLOADS.length),
    }),
    reporting: z.strictObject({
      intervalSeconds: z.int().min(1).max(MAX_INTERVAL_SECONDS),
      maxDelaySeconds: z.int().min(0).max(MAX_DELAY_SECONDS),
    }),
  })
  .superRefine((v, ctx) => {
    endAfterStart(v, ctx);
    if (new Set(v.scope).size !== v.scope.length) {
      ctx.addIssue({ code: 'custom', message: 'scope entries must be unique', path: ['scope'] });
    }
    if (v.scope.includes('*') && v.scope.length > 1) {
      ctx.addIssue({ code: 'custom', message: 'scope "*" must stand alone', path: ['scope'] });
    }
    const w = v.limits.allowedWorkloads;
    if (new Set(w).size !== w.length) {
      ctx.addIssue({
        code: 'custom',
        message: 'allowedWorkloads must be unique',
        path: ['limits', 'allowedWorkloads'],
      });
    }
  })
  .meta({
    title: 'vpause pause declaration payload',
    description: `payloadType ${PAYLOAD_TYPE.pause}; signed by the lab root key; end null (open) or after start`,
  });

/** Usage report: one node, one interval [start, end), aggregates plus commitments to the detail. */
export const usageSchema = z
  .strictObject({
    v: version,
    lab,
    facility: id,
    cluster: id,
    node: id,
    seq: count,
    prev: hash.describe('hex SHA-256 of the previous payload in this chain; 64 zeros at seq 0'),
    start: time,
    end: time,
    gpus: count.describe('GPUs attached to the node during the interval'),
    gpuSeconds: quantity.describe('GPU-seconds powered on, at most gpus × (end − start)'),
    energyJ: quantity.describe('energy drawn by the GPUs, joules'),
    tensorActive: z.number().min(0).max(1).describe('mean tensor-core active fraction, 0..1'),
    flop: quantity.describe('estimated dense FLOP executed'),
    workload,
    bodyHash: hash.describe('hex SHA-256 of the private report body (disclosed on audit)'),
    samples: z
      .strictObject({ count, root: hash })
      .describe('telemetry samples: count and Merkle root (disclosed one by one on audit)'),
  })
  .superRefine((v, ctx) => {
    endAfterStart(v, ctx);
    // Refinements also run when a field only failed a pattern or bound: check the times first.
    if (
      isTime(v.start) &&
      isTime(v.end) &&
      v.end > v.start &&
      v.gpuSeconds > v.gpus * (parseTime(v.end) - parseTime(v.start))
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'gpuSeconds exceeds gpus × (end − start)',
        path: ['gpuSeconds'],
      });
    }
  })
  .meta({
    title: 'vpause usage report payload',
    description: `payloadType ${PAYLOAD_TYPE.usage}; signed by a registered node key; end after start; gpuSeconds ≤ gpus × (end − start)`,
  });

/** Meter reading: energy drawn by one facility feed over one interval, plus the cumulative counter. */
export const meterSchema = z
  .strictObject({
    v: version,
    facility: id,
    meter: id,
    seq: count,
    prev: hash.describe('hex SHA-256 of the previous payload in this chain; 64 zeros at seq 0'),
    start: time,
    end: time,
    energyJ: quantity.describe('energy through the feed during the interval, joules'),
    counterJ: quantity.describe("the meter's cumulative energy counter at end, joules"),
  })
  .superRefine(endAfterStart)
  .meta({
    title: 'vpause meter reading payload',
    description: `payloadType ${PAYLOAD_TYPE.meter}; signed by a meter key in the verifier's policy; end after start`,
  });

export type RegistrationPayload = z.infer<typeof registrationSchema>;
export type InventoryPayload = z.infer<typeof inventorySchema>;
export type PausePayload = z.infer<typeof pauseSchema>;
export type UsagePayload = z.infer<typeof usageSchema>;
export type MeterPayload = z.infer<typeof meterSchema>;

/** The payload schema of each payload type. */
export const payloadSchemas = {
  [PAYLOAD_TYPE.registration]: registrationSchema,
  [PAYLOAD_TYPE.inventory]: inventorySchema,
  [PAYLOAD_TYPE.pause]: pauseSchema,
  [PAYLOAD_TYPE.usage]: usageSchema,
  [PAYLOAD_TYPE.meter]: meterSchema,
} as const;

/** The payload object type of payload type `T`. */
export type PayloadOf<T extends PayloadType> = z.infer<(typeof payloadSchemas)[T]>;
/** Any vpause payload object. */
export type Payload = PayloadOf<PayloadType>;

// ---------------------------------------------------------------------------------------------
// DSSE envelope

/** One DSSE signature: the signer's key name + hex key ID, and the base64 signature. */
export const envelopeSignatureSchema = z.strictObject({
  keyid: z.string().regex(new RegExp(KEYID_PATTERN)).describe('signer key name + hex key ID'),
  sig: z.string().max(1368).regex(new RegExp(BASE64_PATTERN)).describe('base64 signature'),
});

function uniqueKeyids(v: { signatures: { keyid: string }[] }, ctx: Ctx): void {
  const ids = v.signatures.map((s) => s.keyid);
  if (new Set(ids).size !== ids.length) {
    ctx.addIssue({ code: 'custom', message: 'keyids must be unique', path: ['signatures'] });
  }
}

/**
 * The envelope frame parseEntry checks first: everything but the payloadType value, the payload
 * encoding and the signature count, which it checks afterwards to report them with their own codes.
 */
export const envelopeFrameSchema = z
  .strictObject({
    payloadType: z.string().min(1).max(128),
    payload: z.string().max(65_535),
    signatures: z.array(envelopeSignatureSchema).max(MAX_SIGNATURES),
  })
  .superRefine(uniqueKeyids);

/** A DSSE v1 envelope carrying a vpause statement. */
export const envelopeSchema = z
  .strictObject({
    payloadType: z.enum(PAYLOAD_TYPES as [PayloadType, ...PayloadType[]]),
    payload: z
      .string()
      .max(65_535)
      .regex(new RegExp(BASE64_PATTERN))
      .describe('base64 of the JCS-encoded payload'),
    signatures: z.array(envelopeSignatureSchema).min(1).max(MAX_SIGNATURES),
  })
  .superRefine(uniqueKeyids)
  .meta({
    title: 'vpause DSSE envelope',
    description:
      'DSSE v1 envelope; the log entry is its JCS encoding (at most 65535 bytes); keyids unique',
  });

/** A DSSE envelope as parsed (its payloadType is any string until checked against the five). */
export type Envelope = z.infer<typeof envelopeFrameSchema>;
export type EnvelopeSignature = Envelope['signatures'][number];
