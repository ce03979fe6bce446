import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatAdmit, parseAdmit } from '../../src/policy/admit.js';
import { PolicyError, type PolicyErrorCode } from '../../src/policy/errors.js';
import { labFromKeyName } from '../../src/policy/participants.js';
import { evaluateQuorum, quorumWitnesses } from '../../src/policy/tlog-policy.js';
import {
  DEFAULT_ALPHA,
  formatVPausePolicy,
  parseVPausePolicy,
  type VPausePolicy,
} from '../../src/policy/vpause-policy.js';
import { logKey, vkey, witnessKey } from './fixtures.js';

const DOC = readFileSync(join(process.cwd(), 'docs/policy.md'), 'utf8');

function fenced(info: string): string {
  const m = new RegExp('```' + info + '\\n([\\s\\S]*?)```').exec(DOC);
  if (m === null) throw new Error(`docs/policy.md has no \`\`\`${info} block`);
  return m[1]!;
}

function refusal(parse: () => unknown): PolicyError {
  try {
    parse();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

describe('the complete example policy in docs/policy.md', () => {
  const p = parseVPausePolicy(fenced('policy'));

  it('parses the tlog-policy part: one log with its URL, five witnesses, quorum treaty', () => {
    expect(p.tlog.logs.map((l) => [l.key.name, l.url])).toEqual([
      ['log.vpause.example', 'https://log.vpause.example/'],
    ]);
    expect(quorumWitnesses(p.tlog).map((w) => w.name)).toEqual([
      'alpha',
      'beta',
      'gamma',
      'delta',
      'epsilon',
    ]);
    expect(p.tlog.quorum).toBe('treaty');
  });

  it('requires two treaty-party witnesses and one independent witness', () => {
    expect(evaluateQuorum(p.tlog, new Set(['alpha', 'gamma', 'epsilon']))).toBe(true);
    expect(evaluateQuorum(p.tlog, new Set(['alpha', 'delta', 'epsilon']))).toBe(false);
    expect(evaluateQuorum(p.tlog, new Set(['alpha', 'beta', 'gamma']))).toBe(false);
  });

  it('maps both lab-a.example/root keys to lab-a.example and the third to lab-b.example', () => {
    expect(p.labs.map((l) => l.lab)).toEqual(['lab-a.example', 'lab-a.example', 'lab-b.example']);
    expect(p.labs[0]!.key.vkey).not.toBe(p.labs[1]!.key.vkey);
  });

  it('reads the facilities, their meters, the verifier key path and alpha', () => {
    expect(p.facilities.get('f1')).toMatchObject({
      pueMin: 1.1,
      pueMax: 1.4,
      baselineW: 150000,
      meterSigma: 0.01,
    });
    expect(p.facilities.get('f2')).toMatchObject({ pueMin: 1.05, pueMax: 1.2, meterSigma: 0.005 });
    expect(p.meters.map((m) => m.facility)).toEqual(['f1', 'f1', 'f2']);
    expect(p.verifierKeyPath).toBe('/etc/vpause/verifier.key');
    expect(p.alpha).toBe(0.001);
    expect(p.alphaSet).toBe(true);
  });

  it('formats back to text that parses to the same policy', () => {
    expect(summary(parseVPausePolicy(formatVPausePolicy(p)))).toEqual(summary(p));
  });
});

function summary(p: VPausePolicy): unknown {
  return {
    logs: p.tlog.logs.map((l) => [l.key.vkey, l.url]),
    witnesses: [...p.tlog.witnesses.values()].map((w) => [w.name, w.key.vkey, w.url]),
    groups: [...p.tlog.groups.values()].map((g) => [g.name, g.spec, g.members]),
    quorum: p.tlog.quorum,
    labs: p.labs.map((l) => [l.lab, l.key.vkey]),
    meters: p.meters.map((m) => [m.facility, m.key.vkey]),
    facilities: [...p.facilities.values()].map((f) => [
      f.id,
      f.pueMin,
      f.pueMax,
      f.baselineW,
      f.meterSigma,
    ]),
    verifierKeyPath: p.verifierKeyPath,
    alpha: [p.alpha, p.alphaSet],
  };
}

describe('lab identities', () => {
  it.each([
    ['lab-a.example/root', 'lab-a.example'],
    ['lab-b.example', 'lab-b.example'],
    ['example.org/labs/c/root', 'example.org/labs/c'],
    ['lab-d.example/rooted', 'lab-d.example/rooted'],
    ['/root', undefined],
  ])('takes the lab of key name %s to be %s', (name, lab) => {
    expect(labFromKeyName(name)).toBe(lab);
  });
});

describe('a policy without an alpha line', () => {
  it(`uses the default alpha ${DEFAULT_ALPHA} and says it was not set`, () => {
    const p = parseVPausePolicy('quorum none\n');
    expect(p.alpha).toBe(DEFAULT_ALPHA);
    expect(p.alphaSet).toBe(false);
    expect(p.verifierKeyPath).toBeUndefined();
  });
});

describe('malformed vpause policy lines', () => {
  const Q = 'quorum none';
  const F1 = 'facility f1 pue 1.1 1.4 baseline-w 150000 meter-sigma 0.01';
  const LAB = `lab ${vkey('lab-a.example/root')}`;
  const METER = `meter f1 ${vkey('meter.f1.example')}`;
  const cases: [string, string, PolicyErrorCode, number | undefined][] = [
    ['an unknown directive', `${Q}\nlaboratory ${vkey('x/root')}`, 'POLICY_UNKNOWN_DIRECTIVE', 2],
    ['a lab line without a key', `${Q}\nlab`, 'POLICY_SYNTAX', 2],
    ['a lab line with an extra field', `${Q}\n${LAB} extra`, 'POLICY_SYNTAX', 2],
    ['a lab key that is not a vkey', `${Q}\nlab lab-a.example/root`, 'POLICY_KEY', 2],
    [
      'a lab key of the cosignature type',
      `${Q}\nlab ${witnessKey('lab-a.example/root')}`,
      'POLICY_KEY',
      2,
    ],
    ['a lab key named just /root', `${Q}\nlab ${vkey('/root')}`, 'POLICY_KEY', 2],
    ['the same lab key twice', `${Q}\n${LAB}\n${LAB}`, 'POLICY_DUPLICATE', 3],
    [
      'a lab key reused as a meter key',
      `${Q}\n${F1}\nlab ${vkey('k/root', 1, 'shared')}\nmeter f1 ${vkey('m', 1, 'shared')}`,
      'POLICY_DUPLICATE',
      4,
    ],
    [
      'a witness public key reused as a lab key',
      `witness W ${witnessKey('w', 'shared')}\n${Q}\nlab ${vkey('k/root', 1, 'shared')}`,
      'POLICY_DUPLICATE',
      3,
    ],
    [
      'a log public key reused as a meter key',
      `log ${logKey('l', 'shared')}\n${Q}\n${F1}\nmeter f1 ${vkey('m', 1, 'shared')}`,
      'POLICY_DUPLICATE',
      4,
    ],
    ['a meter line without a key', `${Q}\n${F1}\nmeter f1`, 'POLICY_SYNTAX', 3],
    [
      'a meter facility id with a slash',
      `${Q}\n${F1}\nmeter f1/c1 ${vkey('m')}`,
      'POLICY_SYNTAX',
      3,
    ],
    ['a meter for a facility without a facility line', `${Q}\n${METER}`, 'POLICY_UNKNOWN_NAME', 2],
    [
      'a facility line missing meter-sigma',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w 150000`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'a facility line with keywords out of order',
      `${Q}\nfacility f1 baseline-w 150000 pue 1.1 1.4 meter-sigma 0.01`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'a facility line with a misspelt keyword',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline 150000 meter-sigma 0.01`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'a PUE that is not a number',
      `${Q}\nfacility f1 pue low 1.4 baseline-w 150000 meter-sigma 0.01`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'a negative baseline',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w -5 meter-sigma 0.01`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'a hexadecimal number',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w 0x10 meter-sigma 0.01`,
      'POLICY_SYNTAX',
      2,
    ],
    [
      'pue min above pue max',
      `${Q}\nfacility f1 pue 1.4 1.1 baseline-w 150000 meter-sigma 0.01`,
      'POLICY_VALUE',
      2,
    ],
    [
      'a PUE below 1',
      `${Q}\nfacility f1 pue 0.9 1.1 baseline-w 150000 meter-sigma 0.01`,
      'POLICY_VALUE',
      2,
    ],
    [
      'a zero baseline',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w 0 meter-sigma 0.01`,
      'POLICY_VALUE',
      2,
    ],
    [
      'a meter-sigma of 1',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w 150000 meter-sigma 1`,
      'POLICY_VALUE',
      2,
    ],
    [
      'a meter-sigma of 0',
      `${Q}\nfacility f1 pue 1.1 1.4 baseline-w 150000 meter-sigma 0`,
      'POLICY_VALUE',
      2,
    ],
    ['a facility defined twice', `${Q}\n${F1}\n${F1}`, 'POLICY_DUPLICATE', 3],
    ['a verifier-key line without a path', `${Q}\nverifier-key`, 'POLICY_SYNTAX', 2],
    ['a verifier-key path with a space', `${Q}\nverifier-key /etc/my key`, 'POLICY_SYNTAX', 2],
    ['two verifier-key lines', `${Q}\nverifier-key /a\nverifier-key /b`, 'POLICY_DUPLICATE', 3],
    ['an alpha of zero', `${Q}\nalpha 0`, 'POLICY_VALUE', 2],
    ['an alpha above one half', `${Q}\nalpha 0.6`, 'POLICY_VALUE', 2],
    ['an alpha in percent', `${Q}\nalpha 1%`, 'POLICY_SYNTAX', 2],
    ['two alpha lines', `${Q}\nalpha 0.01\nalpha 0.02`, 'POLICY_DUPLICATE', 3],
    ['no quorum line', `${LAB}\n${F1}`, 'POLICY_NO_QUORUM', undefined],
    ['a tlog-policy error inside a vpause policy', `${LAB}\nquorum W`, 'POLICY_UNKNOWN_NAME', 2],
  ];
  it.each(cases)('refuses %s with %s on the right line', (_what, text, code, line) => {
    const e = refusal(() => parseVPausePolicy(text));
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.message).not.toContain('\n');
    if (line !== undefined) expect(e.message).toContain(`line ${line}`);
  });

  it('accepts a meter line that comes before its facility line', () => {
    const p = parseVPausePolicy(`${Q}\n${METER}\n${F1}\n`);
    expect(p.meters[0]!.facility).toBe('f1');
  });
});

describe('ADMIT.txt', () => {
  it('parses the example in docs/policy.md into two labs and two meters', () => {
    const a = parseAdmit(fenced('admit'));
    expect(a.labs.map((l) => l.lab)).toEqual(['lab-a.example', 'lab-b.example']);
    expect(a.meters.map((m) => [m.facility, m.key.name])).toEqual([
      ['f1', 'meter.f1.inspector.example'],
      ['f2', 'meter.f2.utility.example'],
    ]);
    expect(parseAdmit(formatAdmit(a))).toMatchObject({
      labs: a.labs.map((l) => ({ lab: l.lab })),
      meters: a.meters.map((m) => ({ facility: m.facility })),
    });
  });

  it('parses an empty file (comments only) into an empty list', () => {
    expect(parseAdmit('# nobody yet\n')).toMatchObject({ labs: [], meters: [] });
  });

  const cases: [string, string, PolicyErrorCode, number][] = [
    ['a tlog-policy line', `quorum none`, 'POLICY_UNKNOWN_DIRECTIVE', 1],
    ['a node key line', `node ${vkey('n1')}`, 'POLICY_UNKNOWN_DIRECTIVE', 1],
    ['a lab line with two keys', `lab ${vkey('a/root')} ${vkey('b/root')}`, 'POLICY_SYNTAX', 1],
    ['a meter line without a facility', `meter ${vkey('m')}`, 'POLICY_SYNTAX', 1],
    ['a meter key of the cosignature type', `meter f1 ${witnessKey('m')}`, 'POLICY_KEY', 1],
    [
      'the same public key as lab and meter',
      `lab ${vkey('a/root', 1, 's')}\n\nmeter f1 ${vkey('m', 1, 's')}`,
      'POLICY_DUPLICATE',
      3,
    ],
    ['a CR character', `lab ${vkey('a/root')}\r\n`, 'POLICY_SYNTAX', 1],
  ];
  it.each(cases)('refuses %s with %s on the right line', (_what, text, code, line) => {
    const e = refusal(() => parseAdmit(text));
    expect(e.code).toBe(code);
    expect(e.line).toBe(line);
    expect(e.file).toBe('ADMIT.txt');
  });
});
