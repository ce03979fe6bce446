/**
 * The log's admission list, ADMIT.txt (DESIGN §4: the log appends only statements whose signer
 * it admits). Same line rules as tlog-policy (spaces/tabs, `#` comment lines, blank lines):
 *
 *   lab <vkey>                   admit statements signed by this lab root key (and, through its
 *                                logged registrations, by its node keys)
 *   meter <facility-id> <vkey>   admit meter readings for this facility signed by this key
 *
 * Each public key appears once. Unknown directives are refused. Pure: no I/O.
 */
import { PolicyError, quote } from './errors.js';
import { DEFAULT_LIMITS, type PolicyLimits, splitPolicyLines } from './lines.js';
import {
  KeyRegistry,
  type LabRootKey,
  type MeterKey,
  parseLabLine,
  parseMeterLine,
} from './participants.js';

/** A parsed ADMIT.txt. */
export interface AdmitList {
  labs: readonly LabRootKey[];
  meters: readonly MeterKey[];
}

export interface AdmitParseOptions {
  /** label for error messages; default "ADMIT.txt" */
  file?: string;
  limits?: Partial<PolicyLimits>;
}

/**
 * Parses ADMIT.txt.
 * @throws {PolicyError} POLICY_SYNTAX, POLICY_UNKNOWN_DIRECTIVE, POLICY_KEY, POLICY_DUPLICATE
 *   (a public key listed twice) or POLICY_LIMIT, naming the line
 */
export function parseAdmit(text: string, options: AdmitParseOptions = {}): AdmitList {
  const file = options.file ?? 'ADMIT.txt';
  const limits: PolicyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const labs: LabRootKey[] = [];
  const meters: MeterKey[] = [];
  const registry = new KeyRegistry(file);
  for (const l of splitPolicyLines(text, file, limits)) {
    const d = l.fields[0]!;
    if (labs.length + meters.length >= limits.entries) {
      throw new PolicyError('POLICY_LIMIT', file, l.line, `more than ${limits.entries} entries`);
    }
    if (d === 'lab') {
      const lab = parseLabLine(l, file);
      registry.claim(lab.key, 'lab', l.line);
      labs.push(lab);
    } else if (d === 'meter') {
      const meter = parseMeterLine(l, file);
      registry.claim(meter.key, 'meter', l.line);
      meters.push(meter);
    } else {
      throw new PolicyError(
        'POLICY_UNKNOWN_DIRECTIVE',
        file,
        l.line,
        `unknown directive ${quote(d)}`,
      );
    }
  }
  return { labs, meters };
}

/** Writes an admission list as ADMIT.txt text; parsing the output gives an equal list. */
export function formatAdmit(list: AdmitList): string {
  const out: string[] = [];
  for (const l of list.labs) out.push(`lab ${l.key.vkey}`);
  for (const m of list.meters) out.push(`meter ${m.facility} ${m.key.vkey}`);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
