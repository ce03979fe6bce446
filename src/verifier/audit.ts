/**
 * Check 7, audit (DESIGN §6): signed challenges for N reports chosen at random from the window,
 * each with random sample positions, sent to the nodes' audit API (nodes/daemon/audit). The
 * challenge and the answer are recorded as they are; the evaluation checks the answer against
 * the logged statements (checkAuditResponse), so an evidence bundle can check it again.
 */
import { auditChallenge, makeAuditChallenge } from '../../nodes/daemon/audit/client.js';
import { AUDIT_MAX_REPORTS } from '../../nodes/daemon/audit/protocol.js';
import type { BundleAudit } from '../../protocol/src/verdict.js';
import type { SignerKey } from '../note/keys.js';
import { nodeId, type UsageRecord } from './log-index.js';

export interface AuditOptions {
  /** how many reports to audit */
  count: number;
  /** sample positions asked for per report (default 4) */
  samplesPerReport?: number;
  /** the node's audit API base URL, by `facility/cluster/node` */
  nodeUrl: (node: string) => string | undefined;
  /** the verifier's signing key (Ed25519, type 0x01) */
  signer: SignerKey;
  /** uniform [0, 1) (default Math.random): which reports and samples */
  random?: () => number;
  fetch?: typeof fetch;
  /** clock, ms (the challenge's time) */
  now?: () => number;
  /** randomness for the challenge nonce */
  nonce?: (n: number) => Uint8Array;
  timeoutMs?: number;
}

/** Picks `k` distinct items at random (partial Fisher–Yates). */
function pick<T>(items: readonly T[], k: number, random: () => number): T[] {
  const a = [...items];
  const n = Math.min(k, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/** `k` distinct integers from [0, n), Floyd's algorithm: k draws whatever `random` returns. */
function distinct(n: number, k: number, random: () => number): number[] {
  const set = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = Math.min(j, Math.floor(random() * (j + 1)));
    set.add(set.has(t) ? j : t);
  }
  return [...set];
}

/**
 * Audits `count` random reports among `reports`: one signed challenge per node (up to 64 reports
 * each), random sample positions per report. Never throws for a node that cannot be audited:
 * the record then has no response and says why.
 */
export async function runAudits(
  lab: string,
  reports: readonly UsageRecord[],
  opts: AuditOptions,
): Promise<BundleAudit[]> {
  const random = opts.random ?? Math.random;
  const chosen = pick(reports, opts.count, random).sort((a, b) => a.index - b.index);
  const byNode = new Map<string, UsageRecord[]>();
  for (const r of chosen) {
    const id = nodeId(r.payload);
    byNode.set(id, [...(byNode.get(id) ?? []), r]);
  }
  const out: BundleAudit[] = [];
  for (const [id, rs] of [...byNode].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const { facility, cluster, node } = rs[0]!.payload;
    for (let i = 0; i < rs.length; i += AUDIT_MAX_REPORTS) {
      const part = rs.slice(i, i + AUDIT_MAX_REPORTS);
      const reqs = part.map((r) => {
        const n = r.payload.samples.count;
        const want = Math.min(n, opts.samplesPerReport ?? 4);
        const positions = distinct(n, want, random).sort((a, b) => a - b);
        return { seq: r.payload.seq, samples: positions };
      });
      const challenge = makeAuditChallenge(
        { lab, facility, cluster, node, reports: reqs },
        {
          ...(opts.now ? { now: opts.now } : {}),
          ...(opts.nonce ? { random: opts.nonce } : {}),
        },
      );
      const rec: BundleAudit = { facility, cluster, node, challenge, response: null };
      const url = opts.nodeUrl(id);
      if (url === undefined) {
        rec.error = `no audit address for node ${id}`;
        out.push(rec);
        continue;
      }
      try {
        rec.response = (await auditChallenge(url, challenge, opts.signer, {
          ...(opts.fetch ? { fetch: opts.fetch } : {}),
          ...(opts.now ? { now: opts.now } : {}),
          ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        })) as unknown as Record<string, unknown>;
      } catch (e) {
        rec.error = `${(e as { code?: string }).code ?? 'ERROR'}: ${(e as Error).message}`;
      }
      out.push(rec);
    }
  }
  return out;
}
