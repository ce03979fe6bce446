/**
 * The audit protocol between a verifier and an attestation node (DESIGN §6 check 7).
 *
 * A verifier sends the node a **challenge**: a DSSE envelope of payloadType
 * `application/vnd.vpause.audit-challenge+json` whose payload (JCS) names the node, a fresh
 * nonce, the verifier's time, and the reports (by `seq` or by log index) and sample positions it
 * wants, signed with the verifier's Ed25519 key:
 *
 *     {"v":1,"nonce":"<32..128 hex>","time":"2026-11-27T01:31:00Z","lab":"lab-a.example",
 *      "facility":"f1","cluster":"c1","node":"c1-n001",
 *      "reports":[{"seq":17,"samples":[0,811,2399]},{"index":4242,"samples":[]}]}
 *
 * The node answers with the private bodies (bytes, base64) and the requested samples, each with
 * its RFC 9162 inclusion proof against the report's sample root, plus the usage statement as it
 * was logged. Schemas only: no I/O.
 */
import { z } from 'zod';
import {
  BASE64_PATTERN,
  envelopeFrameSchema,
  HASH_PATTERN,
  ID_PATTERN,
  LAB_PATTERN,
  TIME_PATTERN,
} from '../../../protocol/src/index.js';

/** DSSE payloadType of an audit challenge. */
export const AUDIT_CHALLENGE_TYPE = 'application/vnd.vpause.audit-challenge+json';
/** Most reports one challenge may ask for. */
export const AUDIT_MAX_REPORTS = 64;
/** Most sample positions one challenge may ask for, per report. */
export const AUDIT_MAX_SAMPLES_PER_REPORT = 1024;
/** Most sample positions one challenge may ask for, over all its reports. */
export const AUDIT_MAX_SAMPLES = 4096;
/** Largest challenge envelope a node reads, bytes (room for AUDIT_MAX_SAMPLES positions). */
export const AUDIT_MAX_CHALLENGE_BYTES = 128 * 1024;
/** Default validity window: a challenge is answered within ± this of the node's clock. */
export const AUDIT_DEFAULT_WINDOW_SECONDS = 300;

const int = z.int().min(0);
const b64 = z.string().regex(new RegExp(BASE64_PATTERN));
const identity = {
  lab: z.string().regex(new RegExp(LAB_PATTERN)),
  facility: z.string().regex(new RegExp(ID_PATTERN)),
  cluster: z.string().regex(new RegExp(ID_PATTERN)),
  node: z.string().regex(new RegExp(ID_PATTERN)),
};

/** One requested report: by `seq` of the node's chain or by log index (exactly one of them). */
export const auditReportRequestSchema = z
  .strictObject({
    seq: int.optional(),
    index: int.optional(),
    samples: z.array(int).max(AUDIT_MAX_SAMPLES_PER_REPORT),
  })
  .superRefine((r, ctx) => {
    if ((r.seq === undefined) === (r.index === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of seq and index', path: [] });
    }
    if (new Set(r.samples).size !== r.samples.length) {
      ctx.addIssue({
        code: 'custom',
        message: 'sample positions must be unique',
        path: ['samples'],
      });
    }
  });

/** The signed audit challenge payload (strict: unknown keys are refused). */
export const auditChallengeSchema = z
  .strictObject({
    v: z.literal(1),
    /** 16 to 64 random bytes, lowercase hex: makes each challenge unique (never answered twice). */
    nonce: z.string().regex(/^(?:[0-9a-f]{2}){16,64}$/),
    /** The verifier's time; the node answers only within its validity window. */
    time: z.string().regex(new RegExp(TIME_PATTERN)),
    ...identity,
    reports: z.array(auditReportRequestSchema).min(1).max(AUDIT_MAX_REPORTS),
  })
  .superRefine((c, ctx) => {
    const keys = c.reports.map((r) => (r.seq !== undefined ? `s${r.seq}` : `i${r.index}`));
    if (new Set(keys).size !== keys.length) {
      ctx.addIssue({ code: 'custom', message: 'a report is requested twice', path: ['reports'] });
    }
    const total = c.reports.reduce((a, r) => a + r.samples.length, 0);
    if (total > AUDIT_MAX_SAMPLES) {
      ctx.addIssue({
        code: 'custom',
        message: `at most ${AUDIT_MAX_SAMPLES} sample positions per challenge`,
        path: ['reports'],
      });
    }
  });

export type AuditChallenge = z.infer<typeof auditChallengeSchema>;
export type AuditReportRequest = z.infer<typeof auditReportRequestSchema>;

/** One disclosed sample: its leaf bytes and inclusion proof against the report's sample root. */
export const disclosedSampleSchema = z.strictObject({
  position: int,
  /** The sample leaf (vpause-sample-jcs/v1 encoding), base64. */
  leaf: b64,
  /** RFC 9162 inclusion proof hashes, base64, leaf to root. */
  proof: z.array(b64).max(64),
});

/** A disclosed report. */
export const disclosedReportSchema = z.strictObject({
  seq: int,
  /** Log index of the statement, when the node has the log's acknowledgement. */
  index: int.nullable(),
  /** The usage statement as submitted to the log (DSSE envelope). */
  statement: envelopeFrameSchema,
  /** The private body bytes (JCS), base64: SHA-256 of them is the statement's `bodyHash`. */
  body: b64,
  samples: z.array(disclosedSampleSchema).max(AUDIT_MAX_SAMPLES_PER_REPORT),
});

/** Why a requested report is not disclosed. */
export const AUDIT_REFUSALS = ['REPORT_UNKNOWN', 'REPORT_PURGED', 'SAMPLE_OUT_OF_RANGE'] as const;

/** A requested report the node does not disclose, and why. */
export const refusedReportSchema = z.strictObject({
  seq: int.nullable(),
  index: int.nullable(),
  error: z.enum(AUDIT_REFUSALS),
});

/** The node's answer to a valid challenge. */
export const auditResponseSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('vpause-audit-response'),
  nonce: z.string().regex(/^(?:[0-9a-f]{2}){16,64}$/),
  ...identity,
  /** The node's time when it answered. */
  time: z.string().regex(new RegExp(TIME_PATTERN)),
  reports: z.array(z.union([disclosedReportSchema, refusedReportSchema])).max(AUDIT_MAX_REPORTS),
});

export type AuditResponse = z.infer<typeof auditResponseSchema>;
export type DisclosedReport = z.infer<typeof disclosedReportSchema>;
export type RefusedReport = z.infer<typeof refusedReportSchema>;

/** True for a disclosed (not refused) report of a response. */
export function isDisclosed(r: DisclosedReport | RefusedReport): r is DisclosedReport {
  return !('error' in r);
}

/**
 * The fields a checker needs from a report body (nodes/report/aggregate.ts `UsageBody`). Not
 * strict, so that a newer node's extra fields do not break older verifiers.
 */
export const auditBodySchema = z.object({
  v: z.literal(1),
  type: z.literal('vpause-usage-body'),
  start: z.string().regex(new RegExp(TIME_PATTERN)),
  end: z.string().regex(new RegExp(TIME_PATTERN)),
  gpus: z.array(
    z.object({
      uuid: z.string(),
      model: z.string(),
      peak: z.object({ family: z.string(), tflops: z.number().min(0) }),
      samples: int,
      observedSeconds: z.number().min(0),
      busySeconds: z.number().min(0),
      energyJ: z.number().min(0),
      tensorActiveSeconds: z.number().min(0),
      flop: z.number().min(0),
      workload: z.enum(['idle', 'inference', 'training', 'maintenance']).nullable(),
    }),
  ),
  samples: z.object({ count: int, root: z.string().regex(new RegExp(HASH_PATTERN)) }),
});

export type AuditBody = z.infer<typeof auditBodySchema>;
