/**
 * Check 7 (`--audit N`): the verifier signs challenges for random reports and samples, a node
 * answers with the private bodies and samples, and the answers are checked against the logged
 * statements. The node here is a small stand-in that answers from real report bodies built by
 * the node's own report builder (nodes/report): honest, it discloses what it committed to; the
 * dishonest one under-reported energy in the public aggregates, which its body contradicts.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticSamples } from '../../nodes/collectors/synthetic.js';
import { buildIntervalReport, type IntervalReport } from '../../nodes/report/aggregate.js';
import { toBase64 } from '../../src/core/bytes.js';
import { generateKey, KEY_TYPE_ED25519 } from '../../src/note/keys.js';
import { runAudits } from '../../src/verifier/audit.js';
import { evaluatePause } from '../../src/verifier/evaluate.js';
import { xoshiro128 } from '../../src/verifier/prng.js';
import { seededRandom } from '../helpers/world.js';
import { INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from './world.js';

const rng = xoshiro128(11);

const N = 4;
const verifierKey = generateKey('verifier.example', KEY_TYPE_ED25519, seededRandom('verifier'));

interface Disclosure {
  report: IntervalReport;
  envelope: unknown;
  seq: number;
}

/** A node's audit API answering from its disclosures (no signature check: a stand-in). */
function fakeNode(
  disclosures: Map<number, Disclosure>,
  node: string,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const env = JSON.parse(body);
      const ch = JSON.parse(Buffer.from(env.payload, 'base64').toString());
      const reports = ch.reports.map((r: { seq: number; samples: number[] }) => {
        const d = disclosures.get(r.seq)!;
        return {
          seq: r.seq,
          index: null,
          statement: d.envelope,
          body: toBase64(d.report.bodyBytes),
          samples: r.samples.map((p) => ({
            position: p,
            leaf: toBase64(d.report.leaves[p]!),
            proof: d.report.commitment.proof(p).map(toBase64),
          })),
        };
      });
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          v: 1,
          type: 'vpause-audit-response',
          nonce: ch.nonce,
          lab: LAB,
          facility: 'f1',
          cluster: 'c1',
          node,
          time: ch.time,
          reports,
        }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      resolve({ server, url: `http://127.0.0.1:${a.port}` });
    }),
  );
}

describe('auditing a node', () => {
  let srv: { server: Server; url: string } | undefined;
  afterAll(() => srv?.server.close());

  it('finds nothing when the disclosed bodies and samples match the logged reports', async () => {
    const { w, disclosures } = await honestNode();
    try {
      srv = await fakeNode(disclosures, 'n1');
      const asOf = T0 + N * INTERVAL + MAX_DELAY + 60;
      const question = { lab: LAB, pause: PAUSE, to: iso(T0 + N * INTERVAL) };
      const base = {
        policy: w.policy,
        index: w.follower.index,
        timeline: w.follower.timeline(),
        anchor: w.follower.anchor(),
        question,
        asOf,
      };
      const first = evaluatePause(base);
      const audits = await runAudits(LAB, first.reports, {
        count: 3,
        signer: verifierKey.signer,
        nodeUrl: () => srv!.url,
        random: () => rng.nextFloat(),
        now: () => asOf * 1000,
      });
      expect(audits).toHaveLength(1);
      expect((audits[0]!.challenge as { reports: unknown[] }).reports).toHaveLength(3);
      expect(audits[0]!.response).not.toBeNull();
      const e = evaluatePause({ ...base, audits });
      expect(e.verdict.findings.map((f) => f.code)).toEqual([]);
    } finally {
      await w.close();
    }
  }, 60_000);
});

// Helpers below keep the scenario readable.

function iso(s: number): string {
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}

async function honestNode() {
  return build(false);
}

async function build(underReport: boolean) {
  const w = await World.start({ nodes: ['n1'] });
  const disclosures = new Map<number, Disclosure>();
  for (let k = 0; k < N; k++) {
    const startMs = (T0 + k * INTERVAL) * 1000;
    const samples = syntheticSamples(
      { seed: `n1-${k}`, workload: 'inference', gpus: 8, periodMs: 2000 },
      startMs - 2000,
      startMs + INTERVAL * 1000 + 2000,
    );
    const report = buildIntervalReport(samples, { startMs, endMs: startMs + INTERVAL * 1000 });
    const lied = underReport && k === 2 ? { energyJ: Math.round(report.usage.energyJ / 3) } : {};
    const seqNo = w.nodes.get('n1')!.seq;
    const ids = await w.interval(k, { over: { n1: { ...report.usage, ...lied } } });
    const entry = await w.follower.entriesOf([
      {
        index: ids[0]!,
        leafHash: w.follower.index.lab(LAB).usage.get('f1/c1/n1')!.at(-1)!.leafHash,
      },
    ]);
    disclosures.set(seqNo, {
      report,
      envelope: JSON.parse(new TextDecoder().decode(entry.get(ids[0]!)!)),
      seq: seqNo,
    });
  }
  return { w, disclosures };
}

describe('auditing a node that under-reported energy', () => {
  it('gives audit-mismatch citing the audited report', async () => {
    const { w, disclosures } = await build(true);
    let s: { server: Server; url: string } | undefined;
    try {
      s = await fakeNode(disclosures, 'n1');
      const asOf = T0 + N * INTERVAL + MAX_DELAY + 60;
      const base = {
        policy: w.policy,
        index: w.follower.index,
        timeline: w.follower.timeline(),
        anchor: w.follower.anchor(),
        question: { lab: LAB, pause: PAUSE, to: iso(T0 + N * INTERVAL) },
        asOf,
      };
      const first = evaluatePause(base);
      const audits = await runAudits(LAB, first.reports, {
        count: N, // every report, so the lie is among them
        signer: verifierKey.signer,
        nodeUrl: () => s!.url,
        random: () => rng.nextFloat(),
        now: () => asOf * 1000,
      });
      const e = evaluatePause({ ...base, audits });
      expect(e.verdict.verdict).toBe('violation');
      const f = e.verdict.findings.find((x) => x.code === 'audit-mismatch')!;
      expect(f).toBeDefined();
      expect(f.message).toMatch(/AUDIT_AGGREGATE_MISMATCH/);
      const lying = w.follower.index
        .lab(LAB)
        .usage.get('f1/c1/n1')!
        .find((r) => r.payload.seq === 2)!;
      expect(f.evidence.map((x) => x.index)).toEqual([lying.index]);
    } finally {
      s?.server.close();
      await w.close();
    }
  }, 60_000);

  it('gives audit-incomplete when the node cannot be reached', async () => {
    const { w } = await build(false);
    try {
      const asOf = T0 + N * INTERVAL + MAX_DELAY + 60;
      const base = {
        policy: w.policy,
        index: w.follower.index,
        timeline: w.follower.timeline(),
        anchor: w.follower.anchor(),
        question: { lab: LAB, pause: PAUSE, to: iso(T0 + N * INTERVAL) },
        asOf,
      };
      const audits = await runAudits(LAB, evaluatePause(base).reports, {
        count: 1,
        signer: verifierKey.signer,
        nodeUrl: () => 'http://127.0.0.1:1',
        now: () => asOf * 1000,
      });
      const e = evaluatePause({ ...base, audits });
      expect(e.verdict.findings.map((f) => f.code)).toEqual(['audit-incomplete']);
      expect(e.verdict.verdict).toBe('inconclusive');
    } finally {
      await w.close();
    }
  }, 60_000);
});
