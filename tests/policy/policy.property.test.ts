import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAdmit } from '../../src/policy/admit.js';
import { PolicyError } from '../../src/policy/errors.js';
import { evaluateQuorum, formatTlogPolicy, parseTlogPolicy } from '../../src/policy/tlog-policy.js';
import { parseVPausePolicy } from '../../src/policy/vpause-policy.js';
import { logKey, witnessKey } from './fixtures.js';

const WITNESS_KEYS = Array.from({ length: 12 }, (_, i) => witnessKey(`w${i}.example`));
const LOG_KEYS = Array.from({ length: 3 }, (_, i) => logKey(`log${i}.example`));

interface GroupModel {
  name: string;
  spec: 'all' | 'any' | number;
  members: string[];
}
interface PolicyModel {
  logs: { key: string; url?: string }[];
  witnesses: { name: string; key: string; url?: string }[];
  groups: GroupModel[];
  quorum: string;
}

// Names: printable ASCII without whitespace, or a non-ASCII letter; never "none".
const nameArb = fc
  .stringMatching(/^[A-Za-z0-9._:/@-]{1,10}$/)
  .chain((s) => fc.constantFrom(s, `${s}\u00e9`, `\u212a${s}`))
  .filter((s) => s !== 'none');

/**
 * A random valid policy: witnesses first, then groups that each take members from the names not
 * yet listed anywhere (so the file-wide "listed at most once" rule holds), then the quorum.
 */
const policyArb: fc.Arbitrary<PolicyModel> = fc
  .record({
    logCount: fc.integer({ min: 0, max: 3 }),
    logUrls: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    names: fc.uniqueArray(nameArb, { minLength: 1, maxLength: 20 }),
    witnessCount: fc.integer({ min: 1, max: 12 }),
    witnessUrls: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
    groupPlans: fc.array(
      fc.record({
        picks: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        spec: fc.oneof(fc.constant('all' as const), fc.constant('any' as const), fc.nat()),
      }),
      { maxLength: 6 },
    ),
    quorumPick: fc.nat(),
  })
  .map((r) => {
    const witnessCount = Math.min(r.witnessCount, r.names.length);
    const witnesses = r.names.slice(0, witnessCount).map((name, i) => {
      const w: PolicyModel['witnesses'][number] = { name, key: WITNESS_KEYS[i]! };
      if (r.witnessUrls[i]) w.url = `https://witness${i}.example/`;
      return w;
    });
    const spareNames = r.names.slice(witnessCount);
    const available = witnesses.map((w) => w.name);
    const groups: GroupModel[] = [];
    for (const [gi, plan] of r.groupPlans.entries()) {
      if (available.length === 0) break;
      const members: string[] = [];
      for (const pick of plan.picks) {
        const m = available[pick % available.length]!;
        if (!members.includes(m)) members.push(m);
      }
      for (const m of members) available.splice(available.indexOf(m), 1);
      const name = spareNames[gi] ?? `group-${gi}`;
      if (witnesses.some((w) => w.name === name) || groups.some((g) => g.name === name)) break;
      const spec = typeof plan.spec === 'number' ? 1 + (plan.spec % members.length) : plan.spec;
      groups.push({ name, spec, members });
      available.push(name);
    }
    const defined = ['none', ...witnesses.map((w) => w.name), ...groups.map((g) => g.name)];
    const logs = LOG_KEYS.slice(0, r.logCount).map((key, i) =>
      r.logUrls[i] ? { key, url: `https://log${i}.example/` } : { key },
    );
    return { logs, witnesses, groups, quorum: defined[r.quorumPick % defined.length]! };
  });

const ws = fc.constantFrom(' ', '\t', '  ', ' \t ');
const filler = fc.constantFrom('', '   ', '\t', '# a comment', '  # indented comment ✓');

function render(m: PolicyModel, sep: string[], fill: string[]): string {
  let i = 0;
  const s = (): string => sep[i++ % sep.length]!;
  const lines: string[] = [];
  const push = (fields: string[]): void => {
    lines.push(fill[lines.length % fill.length]!);
    lines.push(`${s()}${fields.join(s())}`);
  };
  for (const l of m.logs) push(l.url === undefined ? ['log', l.key] : ['log', l.key, l.url]);
  for (const w of m.witnesses) {
    push(w.url === undefined ? ['witness', w.name, w.key] : ['witness', w.name, w.key, w.url]);
  }
  for (const g of m.groups) push(['group', g.name, String(g.spec), ...g.members]);
  push(['quorum', m.quorum]);
  return lines.join('\n');
}

/** An independent reference: evaluates groups bottom-up in definition order, no recursion. */
function referenceQuorum(m: PolicyModel, cosigned: ReadonlySet<string>): boolean {
  const ok = new Map<string, boolean>([['none', true]]);
  for (const w of m.witnesses) ok.set(w.name, cosigned.has(w.name));
  for (const g of m.groups) {
    const k = g.spec === 'all' ? g.members.length : g.spec === 'any' ? 1 : g.spec;
    ok.set(g.name, g.members.filter((x) => ok.get(x)).length >= k);
  }
  return ok.get(m.quorum)!;
}

describe('tlog-policy parser properties', () => {
  it('parses any rendering of a valid policy (any whitespace, comments, blank lines) to its model', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(ws, { minLength: 1 }),
        fc.array(filler, { minLength: 1 }),
        (m, sep, fill) => {
          const p = parseTlogPolicy(render(m, sep, fill));
          expect(
            p.logs.map((l) => ({ key: l.key.vkey, ...(l.url ? { url: l.url } : {}) })),
          ).toEqual(m.logs);
          expect([...p.witnesses.values()].map((w) => [w.name, w.key.vkey, w.url])).toEqual(
            m.witnesses.map((w) => [w.name, w.key, w.url]),
          );
          expect([...p.groups.values()].map((g) => [g.name, g.spec, g.members])).toEqual(
            m.groups.map((g) => [g.name, g.spec, g.members]),
          );
          expect(p.quorum).toBe(m.quorum);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('round-trips: formatting a parsed policy and parsing again gives the same text', () => {
    fc.assert(
      fc.property(policyArb, (m) => {
        const once = formatTlogPolicy(parseTlogPolicy(render(m, [' '], [''])));
        expect(formatTlogPolicy(parseTlogPolicy(once))).toBe(once);
      }),
      { numRuns: 100 },
    );
  });

  it('evaluates the quorum as the bottom-up reference does, for any set of cosigners', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (m, bits) => {
          const p = parseTlogPolicy(render(m, [' '], ['']));
          const cosigned = new Set(m.witnesses.filter((_, i) => bits[i]).map((w) => w.name));
          expect(evaluateQuorum(p, cosigned)).toBe(referenceQuorum(m, cosigned));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is monotone: adding a cosigner never turns a satisfied quorum into an unsatisfied one', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.nat(),
        (m, bits, extra) => {
          const p = parseTlogPolicy(render(m, [' '], ['']));
          const cosigned = new Set(m.witnesses.filter((_, i) => bits[i]).map((w) => w.name));
          const more = new Set([...cosigned, m.witnesses[extra % m.witnesses.length]!.name]);
          if (evaluateQuorum(p, cosigned)) expect(evaluateQuorum(p, more)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

const directives = new Set([
  'log',
  'witness',
  'group',
  'quorum',
  'lab',
  'meter',
  'facility',
  'verifier-key',
  'alpha',
]);

describe('garbage lines', () => {
  it('refuses a line whose first word is not a directive with POLICY_UNKNOWN_DIRECTIVE on its line', () => {
    fc.assert(
      fc.property(
        fc
          .stringMatching(/^[!-~\u00a0-\u00ff]{1,12}$/)
          .filter((w) => !directives.has(w) && !w.startsWith('#')),
        fc.array(fc.stringMatching(/^[!-~]{1,8}$/), { maxLength: 4 }),
        fc.nat({ max: 3 }),
        (word, rest, blanks) => {
          const text = `${'\n'.repeat(blanks)}${[word, ...rest].join(' ')}\nquorum none\n`;
          for (const parse of [parseTlogPolicy, parseVPausePolicy, parseAdmit]) {
            let err: unknown;
            try {
              parse(text);
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(PolicyError);
            expect((err as PolicyError).code).toBe('POLICY_UNKNOWN_DIRECTIVE');
            expect((err as PolicyError).line).toBe(blanks + 1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws anything but a PolicyError, whatever the input', () => {
    const piece = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom(
        'log',
        'witness',
        'group',
        'quorum',
        'none',
        'any',
        'all',
        '2',
        ' ',
        '\t',
        '\n',
        '#',
        ...WITNESS_KEYS.slice(0, 2),
        LOG_KEYS[0]!,
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (pieces) => {
        const text = pieces.join(pieces.length % 2 === 0 ? ' ' : '\n');
        for (const parse of [parseTlogPolicy, parseVPausePolicy, parseAdmit]) {
          try {
            parse(text);
          } catch (e) {
            expect(e).toBeInstanceOf(PolicyError);
            expect((e as PolicyError).message).not.toContain('\n');
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any line containing a control character other than tab with POLICY_SYNTAX', () => {
    const control = fc
      .integer({ min: 0, max: 0x1f })
      .filter((c) => c !== 0x09 && c !== 0x0a)
      .map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(control, fc.nat({ max: 20 }), (ch, at) => {
        const line = `witness A ${WITNESS_KEYS[0]}`;
        const pos = at % (line.length + 1);
        const text = `quorum none\n${line.slice(0, pos)}${ch}${line.slice(pos)}\n`;
        let err: unknown;
        try {
          parseTlogPolicy(text);
        } catch (e) {
          err = e;
        }
        expect((err as PolicyError).code).toBe('POLICY_SYNTAX');
        expect((err as PolicyError).line).toBe(2);
      }),
      { numRuns: 100 },
    );
  });
});
