/**
 * The verifier's outputs: the verdict on one pause of one lab (DESIGN §6), and the evidence
 * bundle that lets anyone holding the trust policy re-check it offline. Schemas only: no I/O.
 *
 * Every finding cites the logged statements it rests on (leaf index and leaf hash) and has a
 * fixed severity: a `violation` finding makes the verdict `violation`; a `gap` finding (evidence
 * that is missing or cannot be relied on) makes it `inconclusive` unless there is a violation;
 * `info` findings never change the verdict. docs/verifier.md describes each code.
 */
import { z } from 'zod';
import {
  BASE64_PATTERN,
  envelopeSignatureSchema,
  HASH_PATTERN,
  ID_PATTERN,
  LAB_PATTERN,
  MAX_SIGNATURES,
} from './schemas.js';
import { TIME_PATTERN } from './time.js';

/** Finding codes (closed set) in the order the checks of DESIGN §6 run. */
export const FINDING_CODES = [
  // 1. authenticity
  'bad-signature',
  'unregistered-key',
  'revoked-key',
  // 2. log integrity
  'log-inconsistent',
  'quorum-not-met',
  // 3. completeness
  'inventory-missing',
  'missing-report',
  'seq-gap',
  'chain-break',
  'equivocation',
  // 4. timeliness
  'late-report',
  'timeliness-unknown',
  // 5. limits
  'limit-exceeded',
  'workload-not-allowed',
  // 6. physics
  'energy-unexplained',
  'meter-missing',
  'facility-unmetered',
  // 7. audit
  'audit-mismatch',
  'audit-incomplete',
] as const;

export type FindingCode = (typeof FINDING_CODES)[number];

export const SEVERITIES = ['violation', 'gap', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The severity of each finding code (fixed: the verdict rule depends only on codes). */
export const FINDING_SEVERITY: Readonly<Record<FindingCode, Severity>> = Object.freeze({
  'bad-signature': 'violation',
  'unregistered-key': 'violation',
  'revoked-key': 'violation',
  'log-inconsistent': 'violation',
  'quorum-not-met': 'gap',
  'inventory-missing': 'gap',
  'missing-report': 'violation',
  'seq-gap': 'violation',
  'chain-break': 'violation',
  equivocation: 'violation',
  'late-report': 'violation',
  'timeliness-unknown': 'gap',
  'limit-exceeded': 'violation',
  'workload-not-allowed': 'violation',
  'energy-unexplained': 'violation',
  'meter-missing': 'gap',
  'facility-unmetered': 'info',
  'audit-mismatch': 'violation',
  'audit-incomplete': 'gap',
});

export const VERDICTS = ['compliant', 'violation', 'inconclusive'] as const;
export type VerdictValue = (typeof VERDICTS)[number];

const time = z.string().regex(new RegExp(TIME_PATTERN)).describe('RFC 3339 UTC time');
const hex32 = z.string().regex(new RegExp(HASH_PATTERN)).describe('hex SHA-256');
const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const idx = z.int().min(0);

/** One logged statement a finding rests on. */
export const evidenceItemSchema = z
  .strictObject({
    index: idx.describe('leaf index in the log'),
    leafHash: hex32.describe('RFC 9162 leaf hash of the entry, hex'),
    role: z.string().max(64).describe('what the statement is to the finding (report, meter, …)'),
  })
  .meta({ title: 'vpause evidence item' });

/** A checkpoint a finding or verdict rests on. */
export const checkpointRefSchema = z.strictObject({
  origin: z.string().min(1),
  size: idx,
  rootHash: b64.describe('base64 root hash'),
});

export const findingSchema = z
  .strictObject({
    code: z.enum(FINDING_CODES),
    severity: z.enum(SEVERITIES),
    message: z.string(),
    subject: z
      .strictObject({
        facility: z.string().optional(),
        cluster: z.string().optional(),
        node: z.string().optional(),
        meter: z.string().optional(),
        day: z.string().optional(),
      })
      .optional()
      .describe('what the finding is about'),
    evidence: z.array(evidenceItemSchema),
    evidenceOmitted: idx.optional().describe('further evidence items left out of the list'),
    checkpoints: z.array(checkpointRefSchema).optional(),
    data: z.record(z.string(), z.unknown()).optional().describe('figures behind the finding'),
  })
  .meta({ title: 'vpause finding' });

/** The physics check's detection bound for one facility (docs/physics.md §6). */
export const facilityDetectionSchema = z.strictObject({
  facility: z.string(),
  intervals: idx,
  alpha: z.number().describe('the share of the policy alpha given to this facility'),
  alarm: z.boolean(),
  minHiddenJ: z.number(),
  minHiddenGpuJ: z.number(),
  minHiddenGpuHoursH100: z.number(),
  minHiddenFlop: z.number(),
  statisticalJ: z.number(),
  pueSlackJ: z.number(),
});

export const detectionSchema = z
  .strictObject({
    probability: z.number().describe('detection probability the bound is stated at (1 − β)'),
    alpha: z.number().describe("the policy's family-wise false-alarm rate of check 6"),
    minHiddenFlop: z
      .number()
      .nullable()
      .describe('largest over the metered facilities in scope; null when none could be checked'),
    minHiddenGpuHoursH100: z.number().nullable(),
    facilities: z.array(facilityDetectionSchema),
    unmetered: z
      .array(z.string())
      .describe('facilities in scope the physics check could not cover'),
    assumptions: z.array(z.string()),
  })
  .meta({ title: 'vpause detection bound' });

export const verdictSchema = z
  .strictObject({
    v: z.literal(1),
    type: z.literal('vpause-verdict'),
    verdict: z.enum(VERDICTS),
    lab: z.string().regex(new RegExp(LAB_PATTERN)),
    pause: z.string().regex(new RegExp(ID_PATTERN)),
    window: z.strictObject({ from: time, to: time }),
    asOf: time.describe('the time the verdict speaks for (the verifier clock)'),
    checkpoint: checkpointRefSchema
      .extend({ quorum: z.boolean(), cosignedBy: z.array(z.string()) })
      .nullable()
      .describe('the checkpoint the verdict relies on'),
    findings: z.array(findingSchema),
    detection: detectionSchema.nullable(),
    summary: z.strictObject({
      nodes: idx,
      intervals: idx,
      expectedReports: idx,
      reports: idx,
      pendingReports: idx.describe('expected reports not yet due'),
      meterReadings: idx,
      statements: idx.describe('statements the verdict rests on'),
    }),
  })
  .meta({
    title: 'vpause verdict',
    description:
      'violation if any finding has severity violation; otherwise inconclusive if any has severity gap; otherwise compliant',
  });

export type EvidenceItem = z.infer<typeof evidenceItemSchema>;
export type CheckpointRef = z.infer<typeof checkpointRefSchema>;
export type Finding = z.infer<typeof findingSchema>;
export type FacilityDetection = z.infer<typeof facilityDetectionSchema>;
export type Detection = z.infer<typeof detectionSchema>;
export type Verdict = z.infer<typeof verdictSchema>;

/** The verdict the findings call for (the rule of this module's header). */
export function verdictOf(findings: readonly Pick<Finding, 'severity'>[]): VerdictValue {
  if (findings.some((f) => f.severity === 'violation')) return 'violation';
  if (findings.some((f) => f.severity === 'gap')) return 'inconclusive';
  return 'compliant';
}

// ---------------------------------------------------------------------------------------------
// Evidence bundle

export const BUNDLE_TYPE = 'vpause-evidence-bundle';

/** An audit the verifier ran: the signed challenge and the node's answer (or why there is none). */
export const bundleAuditSchema = z.strictObject({
  facility: z.string(),
  cluster: z.string(),
  node: z.string(),
  /** the challenge payload that was signed and sent */
  challenge: z.record(z.string(), z.unknown()),
  /** the node's answer, as received */
  response: z.record(z.string(), z.unknown()).nullable(),
  /** why there is no answer (unreachable, refused) */
  error: z.string().optional(),
});

export const evidenceBundleSchema = z
  .strictObject({
    v: z.literal(1),
    type: z.literal(BUNDLE_TYPE),
    question: z.strictObject({
      lab: z.string(),
      pause: z.string(),
      from: time.optional(),
      to: time.optional(),
      asOf: time,
    }),
    /** the checkpoint every proof is against (the last one the verifier relied on) */
    anchor: z.string().describe('signed checkpoint note, with cosignatures'),
    /** other checkpoints the verdict rests on (timeliness, quorum), each consistent with the anchor */
    checkpoints: z.array(
      z.strictObject({
        note: z.string(),
        /** RFC 9162 consistency proof from this checkpoint's size to the anchor's, base64 */
        consistency: z.array(b64).max(64),
      }),
    ),
    /** each statement used: the entry (base64) and a C2SP tlog-proof against the anchor */
    statements: z.array(z.strictObject({ entry: b64, proof: z.string() })),
    /** fork evidence documents (vpause.fork-evidence/v1) the verifier holds against the log */
    forks: z.array(z.record(z.string(), z.unknown())),
    audits: z.array(bundleAuditSchema),
    verdict: verdictSchema,
  })
  .meta({ title: 'vpause evidence bundle' });

export type BundleAudit = z.infer<typeof bundleAuditSchema>;
export type EvidenceBundle = z.infer<typeof evidenceBundleSchema>;

// ---------------------------------------------------------------------------------------------
// Signed verdict

/** The DSSE payloadType of a verdict signed by a verifier key (DESIGN §1). */
export const VERDICT_PAYLOAD_TYPE = 'application/vnd.vpause.verdict+json';

/** Largest signed verdict payload accepted, in bytes (a verdict lists at most a few MB). */
export const MAX_SIGNED_VERDICT_BYTES = 16 * 1024 * 1024;

/**
 * A verdict signed by the verifier: a DSSE v1 envelope whose payload is the JCS encoding of a
 * {@link verdictSchema} verdict, signed over PAE(payloadType, payload) with the verifier key.
 * Unlike a log entry it has no 64 KiB limit and is never logged: it is what a verifier hands
 * out, so that a verdict quoted elsewhere can be traced to the verifier that reached it.
 */
export const signedVerdictSchema = z
  .strictObject({
    payloadType: z.literal(VERDICT_PAYLOAD_TYPE),
    payload: z
      .string()
      .max(Math.ceil(MAX_SIGNED_VERDICT_BYTES / 3) * 4)
      .regex(new RegExp(BASE64_PATTERN))
      .describe('base64 of the JCS-encoded verdict'),
    signatures: z.array(envelopeSignatureSchema).min(1).max(MAX_SIGNATURES),
  })
  .meta({
    title: 'vpause signed verdict',
    description: 'DSSE v1 envelope of a verdict, signed by the verifier key',
  });

export type SignedVerdict = z.infer<typeof signedVerdictSchema>;
