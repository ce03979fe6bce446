/**
 * End to end: a log whose witness policy needs 2 of 3 witnesses. It serves only checkpoints
 * cosigned to that quorum (and its receipts carry the cosignatures); with two witnesses stopped,
 * adds still succeed but no new checkpoint is served; once they restart, checkpoints resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../src/note/keys.js';
import { evaluateQuorum, findWitness, parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { openCheckpoint } from '../../src/tlog/checkpoint.js';
import { verifiedCosignatures } from '../../src/tlog/cosignature.js';
import { parseTlogProof } from '../../src/tlog/proof.js';
import { startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { TestLab, testKey } from '../helpers/world.js';
import { type NetWitness, policyText, startWitnesses, tempFile } from './helpers.js';

const logKey = testKey('log.example/log');
const lab = new TestLab('lab-a.example');

function sizeOf(note: string): number {
  return Number(note.split('\n')[1]);
}

describe('a log whose policy needs 2 of 3 witnesses', () => {
  let ws: NetWitness[];
  let t: TestLog;
  let policy: ReturnType<typeof parseTlogPolicy>;
  let added = 0;

  const add = async (node: string) => {
    const r = await t.post('/v1/statements', lab.register(node).body);
    expect(r.status).toBe(200);
    added++;
  };
  /** Cosigners (policy names) of a served checkpoint whose cosignatures verify. */
  const cosigners = (note: string) => {
    const opened = openCheckpoint(
      note,
      parseVerifierKey(logKey.vkey),
      [...policy.witnesses.values()].map((w) => w.key),
    );
    return verifiedCosignatures(opened.note, opened.note.text, [
      ...[...policy.witnesses.values()].map((w) => w.key),
    ]).map((c) => findWitness(policy, c.key.name, c.key.keyId)!.name);
  };

  beforeAll(async () => {
    ws = await startWitnesses(3, [logKey.vkey]);
    const text = policyText(logKey.vkey, ws, 2);
    policy = parseTlogPolicy(text);
    t = await startTestLog(
      `lab ${lab.root.vkey}\n`,
      { witnessPolicy: tempFile('policy.txt', text) },
      logKey,
    );
  });
  afterAll(async () => {
    await t?.close();
    for (const w of ws ?? []) await w.stop();
  });

  describe('when all witnesses are up', () => {
    it('serves checkpoints that carry at least 2 verified cosignatures', async () => {
      for (const n of ['n1', 'n2', 'n3']) await add(n);
      const note = await waitForSize(t.url, added);
      const names = cosigners(note);
      expect(names.length).toBeGreaterThanOrEqual(2);
      expect(evaluateQuorum(policy, new Set(names))).toBe(true);
    });

    it('issues receipts whose checkpoint carries the cosignatures', async () => {
      const proof = parseTlogProof(await (await fetch(`${t.url}/v1/receipt/0`)).text());
      expect(evaluateQuorum(policy, new Set(cosigners(proof.checkpoint)))).toBe(true);
    });

    it('reports each witness in /metrics as up, with the size it cosigned', async () => {
      const m = await (await fetch(`${t.url}/metrics`)).text();
      for (const w of ws) {
        expect(m).toMatch(
          new RegExp(`vpause_log_witness_cosigned_size\\{witness="${w.name}"\\} [1-9]`),
        );
      }
      expect(m).toMatch(/vpause_log_witnessed_size [1-9]/);
    });
  });

  describe('when two of the three witnesses are stopped', () => {
    let servedBefore: string;

    it('still accepts adds, but serves no checkpoint beyond the last cosigned one', async () => {
      servedBefore = await waitForSize(t.url, added);
      await ws[1]!.stop();
      await ws[2]!.stop();
      for (const n of ['n4', 'n5', 'n6', 'n7']) await add(n);
      // The log integrates and signs the new entries…
      const until = Date.now() + 10_000;
      for (;;) {
        const h = (await (await fetch(`${t.url}/healthz`)).json()) as { treeSize: number };
        if (h.treeSize === added) break;
        if (Date.now() > until) throw new Error('log did not integrate');
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 500));
      // …but keeps serving the last checkpoint the quorum cosigned.
      const now = await (await fetch(`${t.url}/checkpoint`)).text();
      expect(sizeOf(now)).toBe(sizeOf(servedBefore));
      expect(now).toBe(servedBefore);
    });

    it('shows the stopped witnesses as down with failures in /metrics', async () => {
      const m = await (await fetch(`${t.url}/metrics`)).text();
      expect(m).toContain('vpause_log_witness_up{witness="w2"} 0');
      expect(m).toContain('vpause_log_witness_up{witness="w3"} 0');
      expect(m).toMatch(/vpause_log_witness_failures_total\{witness="w2",reason="network"\} [1-9]/);
    });

    describe('and they restart', () => {
      it('serves a cosigned checkpoint covering every entry again', async () => {
        await ws[1]!.restart();
        await ws[2]!.restart();
        const note = await waitForSize(t.url, added, 20_000);
        expect(sizeOf(note)).toBe(added);
        expect(evaluateQuorum(policy, new Set(cosigners(note)))).toBe(true);
      });
    });
  });
});
