/**
 * The statements a run makes: canonical payload bytes equal to the protocol's JCS encoder, chains
 * linked by payload hash, and — in full mode — entries the protocol's strict parser accepts and
 * whose signatures verify with the keys the policy lists.
 */
import { describe, expect, it } from 'vitest';
import { jcs } from '../../protocol/src/jcs.js';
import {
  parseEntry,
  payloadHash,
  verifyStatementSignature,
  ZERO_HASH,
} from '../../protocol/src/statements.js';
import { parseVerifierKey } from '../../src/note/keys.js';
import { parseVPausePolicy } from '../../src/policy/vpause-policy.js';
import { buildWorld } from '../../src/sim/model.js';
import { buildStatements, canonicalBytes, makeKeys, policyText } from '../../src/sim/statements.js';
import { runTelemetry } from '../../src/sim/telemetry.js';
import { smallScenario } from './helpers.js';

function world() {
  const l = smallScenario({ hours: 1, extraLabs: ['lab-y.example'] });
  const w = buildWorld(l.scenario, 42, l.groups);
  runTelemetry(w);
  return w;
}

describe('the statements of a run', () => {
  const w = world();
  const keys = makeKeys(w);
  const stmts = buildStatements(w, keys, true);

  it('carry canonical payload bytes equal to the protocol JCS encoder, for every statement', () => {
    expect(stmts.length).toBeGreaterThan(40);
    for (const s of stmts)
      expect(new TextDecoder().decode(canonicalBytes(s.payload))).toBe(jcs(s.payload as never));
  });

  it('chain each node and meter feed: seq from 0, prev the hash of the previous payload', () => {
    const chains = new Map<string, { seq: number; prev: string; hash: string }[]>();
    for (const s of stmts) {
      const p = s.payload as {
        seq?: number;
        prev?: string;
        node?: string;
        facility?: string;
        meter?: string;
      };
      if (p.seq === undefined) continue;
      const k = `${p.facility}/${p.node ?? p.meter}`;
      chains.set(k, [...(chains.get(k) ?? []), { seq: p.seq, prev: p.prev!, hash: s.payloadHash }]);
    }
    expect(chains.size).toBe(6); // 2 labs × (2 nodes + 1 meter)
    for (const c of chains.values()) {
      const sorted = [...c].sort((a, b) => a.seq - b.seq);
      sorted.forEach((x, i) => {
        expect(x.seq).toBe(i);
        expect(x.prev).toBe(i === 0 ? ZERO_HASH : sorted[i - 1]!.hash);
      });
    }
  });

  it('are entries the strict parser accepts, signed by keys of the policy (or registered by its labs)', () => {
    const policy = parseVPausePolicy(policyText(w, keys));
    const trusted = new Map<string, string>();
    for (const l of policy.labs) trusted.set(l.key.name, l.key.vkey);
    for (const m of policy.meters) trusted.set(m.key.name, m.key.vkey);
    for (const s of stmts) {
      const parsed = parseEntry(s.entry!, { requireCanonical: true });
      expect(payloadHash(parsed.payloadBytes)).toBe(s.payloadHash);
      if (parsed.payloadType.endsWith('registration+json')) {
        trusted.set(
          parseVerifierKey((parsed.payload as { key: string }).key).name,
          (parsed.payload as { key: string }).key,
        );
      }
      const name = parsed.envelope.signatures[0]!.keyid.split('+')[0]!;
      expect(() =>
        verifyStatementSignature(parsed, parseVerifierKey(trusted.get(name)!)),
      ).not.toThrow();
    }
  });
});
