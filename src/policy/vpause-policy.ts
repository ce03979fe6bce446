/**
 * The vpause trust policy: a C2SP tlog-policy (log, witness, group, quorum lines) plus the lines
 * the verifier needs beyond checkpoint validity (DESIGN §6). docs/policy.md has a full example.
 *
 *   lab <vkey>                      lab root key; lab = key name minus a trailing `/root`
 *   meter <facility-id> <vkey>      facility meter key and the facility it measures
 *   facility <id> pue <min> <max> baseline-w <watts> meter-sigma <fraction>
 *   verifier-key <path>             the verifier's own signing key file, for verdicts
 *   alpha <rate>                    family-wise false-alarm rate of the physics check
 *
 * Rules beyond tlog-policy's: each public key appears once in the whole file, whatever its role;
 * each facility has one `facility` line; every `meter` names a facility that has one (anywhere in
 * the file); `verifier-key` and `alpha` appear at most once; 1 ≤ pue min ≤ pue max ≤ 10,
 * baseline-w > 0, 0 < meter-sigma < 1, 0 < alpha ≤ 0.5. Unknown directives are refused. Pure: no I/O.
 */
import { PolicyError, type PolicyErrorCode, quote } from './errors.js';
import {
  DEFAULT_LIMITS,
  expectFields,
  type PolicyLimits,
  readFacilityId,
  readNumber,
  splitPolicyLines,
} from './lines.js';
import {
  KeyRegistry,
  type LabRootKey,
  type MeterKey,
  parseLabLine,
  parseMeterLine,
} from './participants.js';
import {
  formatTlogPolicy,
  TLOG_DIRECTIVES,
  type TlogPolicy,
  TlogPolicyBuilder,
  type TlogPolicyParseOptions,
} from './tlog-policy.js';

/** The physical parameters of one facility (check 6, docs/physics.md). */
export interface FacilityParams {
  id: string;
  pueMin: number;
  pueMax: number;
  /** non-GPU draw seen at the meter, W */
  baselineW: number;
  /** relative standard uncertainty of one interval's meter energy */
  meterSigma: number;
  line: number;
}

/** A parsed vpause trust policy. */
export interface VPausePolicy {
  tlog: TlogPolicy;
  /** in file order; a lab may have several root keys (rotation) */
  labs: readonly LabRootKey[];
  /** in file order; a facility may have several meters (feeds) */
  meters: readonly MeterKey[];
  facilities: ReadonlyMap<string, FacilityParams>;
  /** path of the verifier's signing key, as written (resolving it is the caller's I/O) */
  verifierKeyPath?: string;
  /** family-wise false-alarm rate of check 6; DEFAULT_ALPHA when the file has no alpha line */
  alpha: number;
  /** whether `alpha` came from the file */
  alphaSet: boolean;
}

/** The false-alarm rate used when the policy has no `alpha` line. */
export const DEFAULT_ALPHA = 0.01;

/** Directives of the vpause trust policy beyond tlog-policy's. */
export const VPAUSE_DIRECTIVES: ReadonlySet<string> = new Set([
  'lab',
  'meter',
  'facility',
  'verifier-key',
  'alpha',
]);

const FACILITY_USAGE = 'facility <id> pue <min> <max> baseline-w <watts> meter-sigma <fraction>';

/**
 * Parses a vpause trust policy.
 * @throws {PolicyError} POLICY_SYNTAX, POLICY_UNKNOWN_DIRECTIVE, POLICY_DUPLICATE,
 *   POLICY_UNKNOWN_NAME, POLICY_RESERVED_NAME, POLICY_THRESHOLD, POLICY_KEY, POLICY_NO_QUORUM,
 *   POLICY_VALUE or POLICY_LIMIT, naming the line
 */
export function parseVPausePolicy(
  text: string,
  options: TlogPolicyParseOptions = {},
): VPausePolicy {
  const file = options.file ?? 'policy';
  const limits: PolicyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const tlog = new TlogPolicyBuilder(file, limits);
  const labs: LabRootKey[] = [];
  const meters: MeterKey[] = [];
  const facilities = new Map<string, FacilityParams>();
  let verifierKeyPath: string | undefined;
  let verifierKeyLine = 0;
  let alpha: number | undefined;
  let alphaLine = 0;
  const fail = (code: PolicyErrorCode, line: number, msg: string): never => {
    throw new PolicyError(code, file, line, msg);
  };
  const entryLimit = (count: number, line: number, what: string): void => {
    if (count >= limits.entries) fail('POLICY_LIMIT', line, `more than ${limits.entries} ${what}`);
  };

  for (const l of splitPolicyLines(text, file, limits)) {
    const d = l.fields[0]!;
    if (TLOG_DIRECTIVES.has(d)) {
      tlog.add(l);
      continue;
    }
    switch (d) {
      case 'lab':
        entryLimit(labs.length, l.line, 'lab keys');
        labs.push(parseLabLine(l, file));
        break;
      case 'meter':
        entryLimit(meters.length, l.line, 'meter keys');
        meters.push(parseMeterLine(l, file));
        break;
      case 'facility': {
        expectFields(l, file, 9, 9, FACILITY_USAGE);
        const f = l.fields;
        if (f[2] !== 'pue' || f[5] !== 'baseline-w' || f[7] !== 'meter-sigma') {
          fail('POLICY_SYNTAX', l.line, `expected "${FACILITY_USAGE}"`);
        }
        const id = readFacilityId(f[1]!, file, l.line);
        if (facilities.has(id))
          fail('POLICY_DUPLICATE', l.line, `facility ${quote(id)} defined twice`);
        entryLimit(facilities.size, l.line, 'facilities');
        const pueMin = readNumber(f[3]!, 'pue min', file, l.line);
        const pueMax = readNumber(f[4]!, 'pue max', file, l.line);
        const baselineW = readNumber(f[6]!, 'baseline-w', file, l.line);
        const meterSigma = readNumber(f[8]!, 'meter-sigma', file, l.line);
        if (!(pueMin >= 1 && pueMin <= pueMax && pueMax <= 10)) {
          fail('POLICY_VALUE', l.line, `facility ${quote(id)}: need 1 ≤ pue min ≤ pue max ≤ 10`);
        }
        if (!(baselineW > 0))
          fail('POLICY_VALUE', l.line, `facility ${quote(id)}: baseline-w must be > 0`);
        if (!(meterSigma > 0 && meterSigma < 1)) {
          fail('POLICY_VALUE', l.line, `facility ${quote(id)}: meter-sigma must be in (0, 1)`);
        }
        facilities.set(id, { id, pueMin, pueMax, baselineW, meterSigma, line: l.line });
        break;
      }
      case 'verifier-key':
        expectFields(l, file, 2, 2, 'verifier-key <path>');
        if (verifierKeyPath !== undefined) {
          fail(
            'POLICY_DUPLICATE',
            l.line,
            `second verifier-key line (first on line ${verifierKeyLine})`,
          );
        }
        verifierKeyPath = l.fields[1]!;
        verifierKeyLine = l.line;
        break;
      case 'alpha': {
        expectFields(l, file, 2, 2, 'alpha <false-alarm rate>');
        if (alpha !== undefined)
          fail('POLICY_DUPLICATE', l.line, `second alpha line (first on line ${alphaLine})`);
        const a = readNumber(l.fields[1]!, 'alpha', file, l.line);
        if (!(a > 0 && a <= 0.5)) fail('POLICY_VALUE', l.line, 'alpha must be in (0, 0.5]');
        alpha = a;
        alphaLine = l.line;
        break;
      }
      default:
        fail('POLICY_UNKNOWN_DIRECTIVE', l.line, `unknown directive ${quote(d)}`);
    }
  }

  const policy = tlog.finish();

  // Every meter measures a facility with physical parameters.
  for (const m of meters) {
    if (!facilities.has(m.facility)) {
      fail(
        'POLICY_UNKNOWN_NAME',
        m.line,
        `meter for facility ${quote(m.facility)}, which has no facility line`,
      );
    }
  }

  // One public key, one role, across the whole file (checked in line order so the error names
  // the later line).
  const claims: { key: LabRootKey['key']; role: string; line: number }[] = [
    ...policy.logs.map((x) => ({ key: x.key, role: 'log', line: x.line })),
    ...[...policy.witnesses.values()].map((x) => ({ key: x.key, role: 'witness', line: x.line })),
    ...labs.map((x) => ({ key: x.key, role: 'lab', line: x.line })),
    ...meters.map((x) => ({ key: x.key, role: 'meter', line: x.line })),
  ].sort((a, b) => a.line - b.line);
  const registry = new KeyRegistry(file);
  for (const c of claims) registry.claim(c.key, c.role, c.line);

  const out: VPausePolicy = {
    tlog: policy,
    labs,
    meters,
    facilities,
    alpha: alpha ?? DEFAULT_ALPHA,
    alphaSet: alpha !== undefined,
  };
  if (verifierKeyPath !== undefined) out.verifierKeyPath = verifierKeyPath;
  return out;
}

/**
 * Writes a vpause policy as text (tlog-policy lines first, then the vpause lines). Parsing the
 * output gives an equal policy.
 */
export function formatVPausePolicy(p: VPausePolicy): string {
  const out: string[] = [formatTlogPolicy(p.tlog).trimEnd()];
  for (const l of p.labs) out.push(`lab ${l.key.vkey}`);
  for (const f of p.facilities.values()) {
    out.push(
      `facility ${f.id} pue ${f.pueMin} ${f.pueMax} baseline-w ${f.baselineW} meter-sigma ${f.meterSigma}`,
    );
  }
  for (const m of p.meters) out.push(`meter ${m.facility} ${m.key.vkey}`);
  if (p.verifierKeyPath !== undefined) out.push(`verifier-key ${p.verifierKeyPath}`);
  if (p.alphaSet) out.push(`alpha ${p.alpha}`);
  return `${out.join('\n')}\n`;
}
