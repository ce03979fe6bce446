/**
 * The verifier's check of an audit answer against the logged usage statements (DESIGN §6 check
 * 7): the disclosed bodies hash to `bodyHash`, the disclosed samples verify against the sample
 * root, and the body's per-GPU numbers reproduce the public aggregates exactly (the report is
 * built from the body's rounded numbers, nodes/report/aggregate.ts). Pure: no I/O.
 */
import { jcsBytes, type UsagePayload } from '../../../protocol/src/index.js';
import { parseJsonStrict } from '../../../protocol/src/json.js';
import { bytesEqual, fromBase64, fromHex, fromUtf8, toHex } from '../../../src/core/bytes.js';
import { sha256 } from '../../../src/crypto/sha256.js';
import { verifySample } from '../../../src/merkle/samples.js';
import { classifyGpu, classifyNode } from '../../report/aggregate.js';
import { peakFor } from '../../report/flop.js';
import { decodeSample } from '../../report/sample-encoding.js';
import {
  type AuditBody,
  type AuditChallenge,
  type AuditResponse,
  auditBodySchema,
  type DisclosedReport,
  isDisclosed,
} from './protocol.js';

/**
 * Closed set of finding codes.
 * - AUDIT_IDENTITY_MISMATCH: the answer is for another node than the statements.
 * - AUDIT_NONCE_MISMATCH: the answer does not echo the challenge's nonce.
 * - AUDIT_REPORT_WITHHELD: a report asked for (or given to check) was not disclosed.
 * - AUDIT_SAMPLE_WITHHELD: a sample position asked for was not disclosed.
 * - AUDIT_STATEMENT_MISMATCH: the statement the node shows is not the logged one.
 * - AUDIT_BODY_HASH_MISMATCH: SHA-256 of the body is not the statement's bodyHash.
 * - AUDIT_BODY_MALFORMED: the body is not a usage report body.
 * - AUDIT_BODY_MISMATCH: the body's interval or sample commitment differ from the statement's.
 * - AUDIT_AGGREGATE_MISMATCH: a public aggregate is not what the body gives.
 * - AUDIT_GPU_INCONSISTENT: a GPU entry contradicts itself (peak, FLOP, workload, time).
 * - AUDIT_SAMPLE_PROOF_INVALID: a sample does not verify against the sample root.
 * - AUDIT_SAMPLE_MALFORMED: a sample leaf is not a canonically encoded sample.
 * - AUDIT_SAMPLE_OUTSIDE_REPORT: a sample's time is outside the interval or its GPU is not in
 *   the body.
 */
export type AuditFindingCode =
  | 'AUDIT_IDENTITY_MISMATCH'
  | 'AUDIT_NONCE_MISMATCH'
  | 'AUDIT_REPORT_WITHHELD'
  | 'AUDIT_SAMPLE_WITHHELD'
  | 'AUDIT_STATEMENT_MISMATCH'
  | 'AUDIT_BODY_HASH_MISMATCH'
  | 'AUDIT_BODY_MALFORMED'
  | 'AUDIT_BODY_MISMATCH'
  | 'AUDIT_AGGREGATE_MISMATCH'
  | 'AUDIT_GPU_INCONSISTENT'
  | 'AUDIT_SAMPLE_PROOF_INVALID'
  | 'AUDIT_SAMPLE_MALFORMED'
  | 'AUDIT_SAMPLE_OUTSIDE_REPORT';

/** One problem found in an audit answer. No findings means the answer checks out. */
export interface AuditFinding {
  code: AuditFindingCode;
  /** The report's `seq`, when the finding concerns one report. */
  seq: number | null;
  /** The aggregate or body field concerned. */
  field?: string;
  /** The sample position concerned. */
  position?: number;
  message: string;
}

export interface CheckAuditOptions {
  /**
   * The challenge that was sent: its nonce must be echoed, and every report and sample it asked
   * for must be disclosed (reports asked for by log index need `indexes` to be matched to a seq).
   */
  challenge?: Partial<Pick<AuditChallenge, 'nonce'>> & Pick<AuditChallenge, 'reports'>;
  /** Log index of each statement's seq (from the log), to match reports asked for by index. */
  indexes?: ReadonlyMap<number, number>;
}

const r3 = (x: number) => Math.round(x * 1e3) / 1e3;
const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** The public aggregates a body gives, computed exactly as nodes/report/aggregate.ts does. */
export function aggregatesOfBody(
  body: AuditBody,
  durationS: number,
): Pick<UsagePayload, 'gpus' | 'gpuSeconds' | 'energyJ' | 'tensorActive' | 'flop' | 'workload'> {
  const gpus = body.gpus;
  const observed = gpus.reduce((a, x) => a + x.observedSeconds, 0);
  const tensorS = gpus.reduce((a, x) => a + x.tensorActiveSeconds, 0);
  return {
    gpus: gpus.length,
    gpuSeconds: Math.min(r3(observed), gpus.length * durationS),
    energyJ: r3(gpus.reduce((a, x) => a + x.energyJ, 0)),
    tensorActive: observed > 0 ? Math.min(1, r6(tensorS / observed)) : 0,
    flop: gpus.reduce((a, x) => a + x.flop, 0),
    workload: classifyNode(gpus.map((x) => x.workload ?? undefined)),
  };
}

function checkBody(u: UsagePayload, body: AuditBody, out: AuditFinding[]): void {
  const seq = u.seq;
  if (body.start !== u.start || body.end !== u.end) {
    out.push({
      code: 'AUDIT_BODY_MISMATCH',
      seq,
      field: 'interval',
      message: `body covers [${body.start}, ${body.end}), the statement [${u.start}, ${u.end})`,
    });
  }
  if (body.samples.count !== u.samples.count || body.samples.root !== u.samples.root) {
    out.push({
      code: 'AUDIT_BODY_MISMATCH',
      seq,
      field: 'samples',
      message: 'body names another sample commitment than the statement',
    });
  }
  const perGpu = body.gpus.reduce((a, g) => a + g.samples, 0);
  if (perGpu !== body.samples.count) {
    out.push({
      code: 'AUDIT_GPU_INCONSISTENT',
      seq,
      field: 'samples',
      message: `per-GPU sample counts add up to ${perGpu}, not ${body.samples.count}`,
    });
  }
  const durationS = (Date.parse(u.end) - Date.parse(u.start)) / 1000;
  const agg = aggregatesOfBody(body, durationS);
  for (const k of Object.keys(agg) as (keyof typeof agg)[]) {
    if (agg[k] !== u[k]) {
      out.push({
        code: 'AUDIT_AGGREGATE_MISMATCH',
        seq,
        field: k,
        message: `statement says ${k} = ${String(u[k])}, the body gives ${String(agg[k])}`,
      });
    }
  }
  for (const g of body.gpus) {
    const peak = peakFor(g.model);
    const problems: string[] = [];
    if (g.peak.tflops * 1e12 < peak.flops) {
      problems.push(`peak ${g.peak.tflops} TFLOP/s is below the table's ${peak.flops / 1e12}`);
    }
    if (g.flop !== Math.round(peak.flops * g.tensorActiveSeconds)) {
      problems.push(`flop ${g.flop} is not peak × tensor-active seconds`);
    }
    if (g.busySeconds > g.observedSeconds || g.tensorActiveSeconds > g.busySeconds) {
      problems.push('busy or tensor-active seconds exceed the observed or busy seconds');
    }
    if (g.observedSeconds > durationS) problems.push('observed longer than the interval');
    const cls = classifyGpu(g.observedSeconds, g.busySeconds, g.tensorActiveSeconds) ?? null;
    if (cls !== g.workload) problems.push(`workload ${g.workload} is not the class ${cls}`);
    for (const m of problems) {
      out.push({ code: 'AUDIT_GPU_INCONSISTENT', seq, field: `gpu ${g.uuid}`, message: m });
    }
  }
}

function checkSamples(
  u: UsagePayload,
  r: DisclosedReport,
  body: AuditBody | undefined,
  out: AuditFinding[],
): void {
  const seq = u.seq;
  const root = fromHex(u.samples.root);
  const startMs = Date.parse(u.start);
  const endMs = Date.parse(u.end);
  const uuids = body ? new Set(body.gpus.map((g) => g.uuid)) : undefined;
  for (const s of r.samples) {
    let leaf: Uint8Array;
    let proof: Uint8Array[];
    try {
      leaf = fromBase64(s.leaf);
      proof = s.proof.map(fromBase64);
      verifySample(leaf, s.position, u.samples.count, proof, root);
    } catch (e) {
      out.push({
        code: 'AUDIT_SAMPLE_PROOF_INVALID',
        seq,
        position: s.position,
        message: `sample ${s.position} does not verify against the sample root: ${(e as Error).message}`,
      });
      continue;
    }
    let sample: ReturnType<typeof decodeSample>;
    try {
      sample = decodeSample(leaf);
    } catch (e) {
      out.push({
        code: 'AUDIT_SAMPLE_MALFORMED',
        seq,
        position: s.position,
        message: `sample ${s.position}: ${(e as Error).message}`,
      });
      continue;
    }
    if (
      sample.t < startMs ||
      sample.t >= endMs ||
      (uuids !== undefined && !uuids.has(sample.uuid))
    ) {
      out.push({
        code: 'AUDIT_SAMPLE_OUTSIDE_REPORT',
        seq,
        position: s.position,
        message: `sample ${s.position} (${sample.uuid} at ${sample.t}) is outside the report`,
      });
    }
  }
}

/**
 * Checks an audit answer against the usage statement payloads it should match (as read from the
 * log; matched to disclosed reports by `seq`). Returns the findings; none means every disclosed
 * body hashes to its `bodyHash`, reproduces its public aggregates, and every disclosed sample
 * verifies against its sample root (and, with `opts.challenge`, that nothing asked for was
 * withheld).
 */
export function checkAuditResponse(
  response: AuditResponse,
  usage: UsagePayload | readonly UsagePayload[],
  opts: CheckAuditOptions = {},
): AuditFinding[] {
  const out: AuditFinding[] = [];
  const statements = Array.isArray(usage)
    ? (usage as readonly UsagePayload[])
    : [usage as UsagePayload];
  const disclosed = new Map<number, DisclosedReport>();
  for (const r of response.reports) if (isDisclosed(r)) disclosed.set(r.seq, r);

  if (opts.challenge?.nonce !== undefined && opts.challenge.nonce !== response.nonce) {
    out.push({
      code: 'AUDIT_NONCE_MISMATCH',
      seq: null,
      message: 'the answer does not echo the challenge nonce',
    });
  }
  if (opts.challenge) {
    const bySeqIndex = new Map<number, number>();
    for (const [seq, idx] of opts.indexes ?? []) bySeqIndex.set(idx, seq);
    for (const req of opts.challenge.reports) {
      const seq = req.seq ?? (req.index !== undefined ? bySeqIndex.get(req.index) : undefined);
      const got =
        seq !== undefined
          ? disclosed.get(seq)
          : (response.reports.find((r) => isDisclosed(r) && r.index === req.index) as
              | DisclosedReport
              | undefined);
      if (got === undefined) {
        const refused = response.reports.find(
          (r) =>
            !isDisclosed(r) && (r.seq === (req.seq ?? null) || r.index === (req.index ?? null)),
        );
        out.push({
          code: 'AUDIT_REPORT_WITHHELD',
          seq: seq ?? null,
          message: `report ${req.seq !== undefined ? `seq ${req.seq}` : `index ${req.index}`} not disclosed${
            refused && 'error' in refused ? ` (${refused.error})` : ''
          }`,
        });
        continue;
      }
      const have = new Set(got.samples.map((s) => s.position));
      for (const p of req.samples) {
        if (!have.has(p)) {
          out.push({
            code: 'AUDIT_SAMPLE_WITHHELD',
            seq: got.seq,
            position: p,
            message: `sample ${p} of seq ${got.seq} not disclosed`,
          });
        }
      }
    }
  }

  for (const u of statements) {
    if (
      u.lab !== response.lab ||
      u.facility !== response.facility ||
      u.cluster !== response.cluster ||
      u.node !== response.node
    ) {
      out.push({
        code: 'AUDIT_IDENTITY_MISMATCH',
        seq: u.seq,
        message: `statement of ${u.lab}/${u.facility}/${u.cluster}/${u.node}, answer from ${response.lab}/${response.facility}/${response.cluster}/${response.node}`,
      });
      continue;
    }
    const r = disclosed.get(u.seq);
    if (r === undefined) {
      if (!opts.challenge) {
        out.push({
          code: 'AUDIT_REPORT_WITHHELD',
          seq: u.seq,
          message: `report seq ${u.seq} not disclosed`,
        });
      }
      continue;
    }
    try {
      if (!bytesEqual(fromBase64(r.statement.payload), jcsBytes(u))) {
        out.push({
          code: 'AUDIT_STATEMENT_MISMATCH',
          seq: u.seq,
          message: 'the node shows another statement for this seq than the logged one',
        });
      }
    } catch {
      out.push({
        code: 'AUDIT_STATEMENT_MISMATCH',
        seq: u.seq,
        message: 'the statement the node shows does not decode',
      });
    }
    let bodyBytes: Uint8Array;
    try {
      bodyBytes = fromBase64(r.body);
    } catch {
      out.push({ code: 'AUDIT_BODY_MALFORMED', seq: u.seq, message: 'body is not base64' });
      checkSamples(u, r, undefined, out);
      continue;
    }
    if (toHex(sha256(bodyBytes)) !== u.bodyHash) {
      out.push({
        code: 'AUDIT_BODY_HASH_MISMATCH',
        seq: u.seq,
        message: `SHA-256 of the disclosed body is not bodyHash ${u.bodyHash}`,
      });
      checkSamples(u, r, undefined, out);
      continue;
    }
    let body: AuditBody | undefined;
    try {
      const parsed = auditBodySchema.safeParse(parseJsonStrict(fromUtf8(bodyBytes), 16));
      if (parsed.success) body = parsed.data;
    } catch {
      body = undefined;
    }
    if (body === undefined) {
      out.push({
        code: 'AUDIT_BODY_MALFORMED',
        seq: u.seq,
        message: 'the body is not a vpause usage report body',
      });
    } else {
      checkBody(u, body, out);
    }
    checkSamples(u, r, body, out);
  }
  return out;
}
