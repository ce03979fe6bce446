import { describe, expect, it } from 'vitest';
import { PolicyError, type PolicyErrorCode } from '../../src/policy/errors.js';
import {
  evaluateQuorum,
  findLog,
  findWitness,
  formatTlogPolicy,
  parseTlogPolicy,
  quorumWitnesses,
  type TlogPolicy,
} from '../../src/policy/tlog-policy.js';
import { logKey, witnessKey } from './fixtures.js';

const LOG = logKey('log.example');
const W = (n: string): string => witnessKey(`${n}.witness.example`);

/** The example policy of C2SP tlog-policy ("Example policy"), with real keys for `<vkey>`. */
const SPEC_EXAMPLE = `log ${LOG}

witness X1 ${W('x1')}
witness X2 ${W('x2')}
witness X3 ${W('x3')}
group X-witnesses 2 X1 X2 X3

witness Y1 ${W('y1')}
witness Y2 ${W('y2')}
witness Y3 ${W('y3')}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;

function refusal(text: string): PolicyError {
  try {
    parseTlogPolicy(text);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected the policy to be refused');
}

describe('the example policy of the tlog-policy specification', () => {
  const policy = parseTlogPolicy(SPEC_EXAMPLE);

  it('parses into one log, six witnesses, three groups and the quorum X-and-Y', () => {
    expect(policy.logs).toHaveLength(1);
    expect(policy.logs[0]!.key.vkey).toBe(LOG);
    expect([...policy.witnesses.keys()]).toEqual(['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3']);
    expect(policy.groups.get('X-witnesses')).toMatchObject({ spec: 2, threshold: 2 });
    expect(policy.groups.get('Y-witnesses')).toMatchObject({ spec: 'any', threshold: 1 });
    expect(policy.groups.get('X-and-Y')).toMatchObject({
      spec: 'all',
      threshold: 2,
      members: ['X-witnesses', 'Y-witnesses'],
    });
    expect(policy.quorum).toBe('X-and-Y');
  });

  it('records the line each definition came from', () => {
    expect(policy.logs[0]!.line).toBe(1);
    expect(policy.witnesses.get('Y1')!.line).toBe(8);
    expect(policy.groups.get('X-and-Y')!.line).toBe(13);
  });

  const cases: [string[], boolean, string][] = [
    [[], false, 'no cosignatures'],
    [['X1', 'X2', 'Y1'], true, 'two X and one Y'],
    [['X2', 'X3', 'Y3'], true, 'a different two X and one Y'],
    [['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3'], true, 'everyone'],
    [['X1', 'Y1', 'Y2', 'Y3'], false, 'one X only, although every Y'],
    [['X1', 'X2', 'X3'], false, 'every X but no Y'],
    [['X-witnesses', 'Y-witnesses'], false, 'group names instead of witness names'],
    [['X1', 'X2', 'Y4'], false, 'a Y name the policy does not define'],
    [['X1', 'X2', 'X-and-Y'], false, 'the quorum group name itself'],
  ];
  it.each(cases)('evaluates the quorum for %j as %s (%s)', (cosigners, expected) => {
    expect(evaluateQuorum(policy, new Set(cosigners))).toBe(expected);
  });

  it('lists all six witnesses as the ones that matter', () => {
    expect(quorumWitnesses(policy).map((w) => w.name)).toEqual([
      'X1',
      'X2',
      'X3',
      'Y1',
      'Y2',
      'Y3',
    ]);
  });

  it('finds a witness by the key name and key ID of its cosignature line', () => {
    const y2 = policy.witnesses.get('Y2')!;
    expect(findWitness(policy, y2.key.name, y2.key.keyId)?.name).toBe('Y2');
    expect(findWitness(policy, y2.key.name, new Uint8Array(4))).toBeUndefined();
    expect(findLog(policy, 'log.example', policy.logs[0]!.key.keyId)).toBe(policy.logs[0]);
  });

  it('formats back to text that parses to the same policy', () => {
    const again = parseTlogPolicy(formatTlogPolicy(policy));
    expect(summary(again)).toEqual(summary(policy));
  });
});

function summary(p: TlogPolicy): unknown {
  return {
    logs: p.logs.map((l) => [l.key.vkey, l.url]),
    witnesses: [...p.witnesses.values()].map((w) => [w.name, w.key.vkey, w.url]),
    groups: [...p.groups.values()].map((g) => [g.name, g.spec, g.threshold, g.members]),
    quorum: p.quorum,
  };
}

describe('quorum evaluation', () => {
  it('with quorum none, accepts a checkpoint with no cosignatures and needs no witness keys', () => {
    const p = parseTlogPolicy(`log ${LOG}\nquorum none\n`);
    expect(evaluateQuorum(p, new Set())).toBe(true);
    expect(quorumWitnesses(p)).toEqual([]);
  });

  it('with quorum none and no logs at all, still parses (the logs may come from context)', () => {
    const p = parseTlogPolicy('quorum none\n');
    expect(p.logs).toEqual([]);
    expect(evaluateQuorum(p, new Set())).toBe(true);
  });

  it('with a single-witness quorum, requires exactly that witness', () => {
    const p = parseTlogPolicy(`witness A ${W('a')}\nwitness B ${W('b')}\nquorum A\n`);
    expect(evaluateQuorum(p, new Set(['A']))).toBe(true);
    expect(evaluateQuorum(p, new Set(['B']))).toBe(false);
    expect(quorumWitnesses(p).map((w) => w.name)).toEqual(['A']);
  });

  describe('with three levels of nested groups and numeric thresholds', () => {
    // top = 2 of {g1 = 2 of {a,b,c}, g2 = all {d,e}, g3 = any {f, g4 = 3 of {h,i,j,k}}}
    const text = [
      ...['a', 'b', 'c', 'd', 'e', 'f', 'h', 'i', 'j', 'k', 'unused'].map(
        (n) => `witness ${n} ${W(n)}`,
      ),
      'group g1 2 a b c',
      'group g2 all d e',
      'group g4 3 h i j k',
      'group g3 any f g4',
      'group top 2 g1 g2 g3',
      'quorum top',
    ].join('\n');
    const p = parseTlogPolicy(text);
    const cases: [string[], boolean][] = [
      [['a', 'b', 'd', 'e'], true], // g1 + g2
      [['a', 'b', 'f'], true], // g1 + g3 via f
      [['d', 'e', 'h', 'i', 'j'], true], // g2 + g3 via g4
      [['a', 'd', 'e'], false], // only g2
      [['a', 'b', 'd', 'h', 'i'], false], // only g1; g2 and g4 one short
      [['h', 'i', 'j', 'k'], false], // only g3
      [['a', 'b', 'c', 'unused'], false], // only g1; unused counts for nothing
      [['b', 'c', 'e', 'd', 'f', 'h'], true], // all three groups
    ];
    it.each(cases)('evaluates %j as %s', (cosigners, expected) => {
      expect(evaluateQuorum(p, new Set(cosigners))).toBe(expected);
    });

    it('leaves a witness outside every group out of the witnesses that matter', () => {
      const names = quorumWitnesses(p).map((w) => w.name);
      expect(names).toHaveLength(10);
      expect(names).not.toContain('unused');
    });
  });
});

describe('lexical rules', () => {
  it('accepts leading and trailing whitespace, tabs between fields, indented comments and blank lines', () => {
    const text = `  # comment\n\t\nlog\t${LOG}\t \n   witness  A \t ${W('a')}  https://w.example/a \n\t# another\nquorum   A\t\n`;
    const p = parseTlogPolicy(text);
    expect(p.witnesses.get('A')!.url).toBe('https://w.example/a');
    expect(p.quorum).toBe('A');
  });

  it('accepts a last line without a trailing newline', () => {
    expect(parseTlogPolicy(`witness A ${W('a')}\nquorum A`).quorum).toBe('A');
  });

  it('treats names as opaque strings: "K" and the Kelvin sign are two different witnesses', () => {
    const p = parseTlogPolicy(
      `witness K ${W('k1')}\nwitness \u212a ${W('k2')}\ngroup both all K \u212a\nquorum both\n`,
    );
    expect(p.witnesses.size).toBe(2);
    expect(evaluateQuorum(p, new Set(['K']))).toBe(false);
    expect(evaluateQuorum(p, new Set(['K', '\u212a']))).toBe(true);
  });

  it('accepts a decimal threshold with a leading zero as that number', () => {
    const p = parseTlogPolicy(
      `witness A ${W('a')}\nwitness B ${W('b')}\ngroup G 02 A B\nquorum G\n`,
    );
    expect(p.groups.get('G')!.threshold).toBe(2);
  });
});

describe('malformed policies', () => {
  const A = `witness A ${W('a')}`;
  const B = `witness B ${W('b')}`;
  const cases: [string, string, PolicyErrorCode, number | undefined][] = [
    [
      'an unknown directive',
      `${A}\nwitnesses B ${W('b')}\nquorum A`,
      'POLICY_UNKNOWN_DIRECTIVE',
      2,
    ],
    ['a log line without a key', 'log\nquorum none', 'POLICY_SYNTAX', 1],
    [
      'a log line with a field after the URL',
      `log ${LOG} https://l.example x\nquorum none`,
      'POLICY_SYNTAX',
      1,
    ],
    [
      'a log URL without a scheme (a trailing comment)',
      `log ${LOG} #primary\nquorum none`,
      'POLICY_SYNTAX',
      1,
    ],
    ['a log key that is not a vkey', 'log not-a-key\nquorum none', 'POLICY_KEY', 1],
    ['a log key of the cosignature type 0x04', `log ${W('a')}\nquorum none`, 'POLICY_KEY', 1],
    ['a witness key of the note type 0x01', `witness A ${logKey('a')}\nquorum A`, 'POLICY_KEY', 1],
    [
      'a witness key whose key ID does not match',
      `witness A ${W('a').replace(/\+[0-9a-f]{8}\+/, '+00000000+')}\nquorum A`,
      'POLICY_KEY',
      1,
    ],
    ['a witness line without a key', 'witness A\nquorum none', 'POLICY_SYNTAX', 1],
    [
      'a witness line with two URLs',
      `witness A ${W('a')} https://a https://b\nquorum A`,
      'POLICY_SYNTAX',
      1,
    ],
    [
      'two logs wrapping the same public key under different names',
      `log ${logKey('l1', 's')}\nlog ${logKey('l2', 's')}\nquorum none`,
      'POLICY_DUPLICATE',
      2,
    ],
    [
      'two witnesses wrapping the same public key under different names',
      `witness A ${witnessKey('a1', 's')}\nwitness B ${witnessKey('b1', 's')}\nquorum A`,
      'POLICY_DUPLICATE',
      2,
    ],
    ['a witness named twice', `${A}\nwitness A ${W('other')}\nquorum A`, 'POLICY_DUPLICATE', 2],
    ['a group with the name of a witness', `${A}\ngroup A any A\nquorum A`, 'POLICY_DUPLICATE', 2],
    ['a witness named none', `witness none ${W('a')}\nquorum none`, 'POLICY_RESERVED_NAME', 1],
    ['a group named none', `${A}\ngroup none any A\nquorum A`, 'POLICY_RESERVED_NAME', 2],
    ['none as a group member', `${A}\ngroup G any A none\nquorum G`, 'POLICY_RESERVED_NAME', 2],
    ['a group without members', `${A}\ngroup G any\nquorum A`, 'POLICY_SYNTAX', 2],
    ['a group without threshold and members', `${A}\ngroup G\nquorum A`, 'POLICY_SYNTAX', 2],
    [
      'a threshold above the member count',
      `${A}\n${B}\ngroup G 3 A B\nquorum G`,
      'POLICY_THRESHOLD',
      3,
    ],
    ['a threshold of zero', `${A}\ngroup G 0 A\nquorum G`, 'POLICY_THRESHOLD', 2],
    ['a threshold in words', `${A}\n${B}\ngroup G two A B\nquorum G`, 'POLICY_SYNTAX', 3],
    ['a negative threshold', `${A}\ngroup G -1 A\nquorum G`, 'POLICY_SYNTAX', 2],
    ['a fractional threshold', `${A}\ngroup G 1.0 A\nquorum G`, 'POLICY_SYNTAX', 2],
    ['a group member never defined', `${A}\ngroup G any A C\nquorum G`, 'POLICY_UNKNOWN_NAME', 2],
    [
      'a group member defined on a later line',
      `${A}\ngroup G any A B\n${B}\nquorum G`,
      'POLICY_UNKNOWN_NAME',
      2,
    ],
    [
      'a group that lists itself (a cycle)',
      `${A}\ngroup G any A G\nquorum G`,
      'POLICY_UNKNOWN_NAME',
      2,
    ],
    [
      'a member listed twice in one group',
      `${A}\n${B}\ngroup G 2 A B A\nquorum G`,
      'POLICY_DUPLICATE',
      3,
    ],
    [
      'a member listed in two groups',
      `${A}\n${B}\ngroup G any A\ngroup H any A B\nquorum H`,
      'POLICY_DUPLICATE',
      4,
    ],
    ['a quorum line without a name', `${A}\nquorum`, 'POLICY_SYNTAX', 2],
    ['a quorum line with two names', `${A}\n${B}\nquorum A B`, 'POLICY_SYNTAX', 3],
    ['a trailing comment on the quorum line', `${A}\nquorum A # the only one`, 'POLICY_SYNTAX', 2],
    ['a quorum naming an undefined witness', `${A}\nquorum Z`, 'POLICY_UNKNOWN_NAME', 2],
    ['a quorum naming a witness defined after it', `quorum A\n${A}`, 'POLICY_UNKNOWN_NAME', 1],
    ['two quorum lines', `${A}\nquorum A\nquorum none`, 'POLICY_DUPLICATE', 3],
    ['no quorum line', `log ${LOG}\n${A}`, 'POLICY_NO_QUORUM', undefined],
    ['an empty file', '', 'POLICY_NO_QUORUM', undefined],
    ['a CRLF line ending', `${A}\r\nquorum A\r\n`, 'POLICY_SYNTAX', 1],
    ['a NUL byte', `${A}\nquorum\u0000 A`, 'POLICY_SYNTAX', 2],
    ['a DEL character in a comment', `# x\u007f\n${A}\nquorum A`, 'POLICY_SYNTAX', 1],
    ['a vertical tab as whitespace', `${A}\nquorum\u000bA`, 'POLICY_SYNTAX', 2],
  ];
  it.each(cases)('refuses %s with %s on the right line', (_what, text, code, line) => {
    const e = refusal(text);
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.message).not.toContain('\n');
  });

  it('names the line counting blank and comment lines', () => {
    const e = refusal(`# header\n\n${W('a')}\n`);
    expect(e.code).toBe('POLICY_UNKNOWN_DIRECTIVE');
    expect(e.line).toBe(3);
  });

  it('refuses more witnesses than the configured limit with POLICY_LIMIT', () => {
    const text = `${['a', 'b', 'c'].map((n) => `witness ${n} ${W(n)}`).join('\n')}\nquorum a\n`;
    expect(() => parseTlogPolicy(text, { limits: { witnesses: 3 } })).not.toThrow();
    let err: unknown;
    try {
      parseTlogPolicy(text, { limits: { witnesses: 2 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe('POLICY_LIMIT');
    expect((err as PolicyError).line).toBe(3);
  });

  it('supports the 32 logs, 32 witnesses and 32 groups the specification recommends', () => {
    const lines: string[] = [];
    for (let i = 0; i < 32; i++) lines.push(`log ${logKey(`log${i}.example`)}`);
    for (let i = 0; i < 32; i++) lines.push(`witness w${i} ${W(`w${i}`)}`);
    for (let i = 0; i < 31; i++) lines.push(`group g${i} any w${i}`);
    lines.push(`group g31 16 ${Array.from({ length: 31 }, (_, i) => `g${i}`).join(' ')} w31`);
    lines.push('quorum g31');
    const p = parseTlogPolicy(lines.join('\n'));
    expect([p.logs.length, p.witnesses.size, p.groups.size]).toEqual([32, 32, 32]);
    const fifteen = new Set(Array.from({ length: 15 }, (_, i) => `w${i}`));
    expect(evaluateQuorum(p, fifteen)).toBe(false);
    expect(evaluateQuorum(p, new Set([...fifteen, 'w31']))).toBe(true);
  });
});
