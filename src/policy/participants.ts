/**
 * `lab` and `meter` lines, shared by the vpause trust policy and the log's ADMIT.txt:
 *
 *   lab <vkey>                   a lab root key; the lab is the key name minus a trailing `/root`
 *   meter <facility-id> <vkey>   a facility meter key and the facility it measures
 *
 * Both keys sign with Ed25519 (signature type 0x01; DSSE statements are Ed25519 signatures).
 * Pure: no I/O.
 */
import { KEY_TYPE_ED25519, type VerifierKey } from '../note/keys.js';
import { PolicyError, quote } from './errors.js';
import { expectFields, type PolicyLine, publicKeyId, readFacilityId, readKey } from './lines.js';

/** Signature types accepted for lab root keys and meter keys. */
export const STATEMENT_KEY_TYPES: readonly number[] = Object.freeze([KEY_TYPE_ED25519]);

export interface LabRootKey {
  /** the lab identity statements carry, e.g. `lab-a.example` */
  lab: string;
  key: VerifierKey;
  line: number;
}

export interface MeterKey {
  facility: string;
  key: VerifierKey;
  line: number;
}

/**
 * The lab a root key speaks for: its key name without a trailing `/root`
 * (`lab-a.example/root` → `lab-a.example`; `lab-b.example` → `lab-b.example`).
 * Returns undefined when nothing is left.
 */
export function labFromKeyName(name: string): string | undefined {
  const lab = name.endsWith('/root') ? name.slice(0, -'/root'.length) : name;
  return lab === '' ? undefined : lab;
}

/**
 * Parses `lab <vkey>`.
 * @throws {PolicyError} POLICY_SYNTAX, POLICY_KEY
 */
export function parseLabLine(l: PolicyLine, file: string): LabRootKey {
  expectFields(l, file, 2, 2, 'lab <vkey>');
  const key = readKey(l.fields[1]!, STATEMENT_KEY_TYPES, 'lab', file, l.line);
  const lab = labFromKeyName(key.name);
  if (lab === undefined) {
    throw new PolicyError(
      'POLICY_KEY',
      file,
      l.line,
      `lab key name ${quote(key.name)} names no lab`,
    );
  }
  return { lab, key, line: l.line };
}

/**
 * Parses `meter <facility-id> <vkey>`.
 * @throws {PolicyError} POLICY_SYNTAX, POLICY_KEY
 */
export function parseMeterLine(l: PolicyLine, file: string): MeterKey {
  expectFields(l, file, 3, 3, 'meter <facility-id> <vkey>');
  const facility = readFacilityId(l.fields[1]!, file, l.line);
  const key = readKey(l.fields[2]!, STATEMENT_KEY_TYPES, 'meter', file, l.line);
  return { facility, key, line: l.line };
}

/**
 * Tracks public keys across every role of one file: a key may appear once. (A lab root key that
 * also signed meter readings would let the lab vouch for its own power draw.)
 */
export class KeyRegistry {
  private readonly owners = new Map<string, string>();
  constructor(private readonly file: string) {}

  /**
   * Records a key for a role.
   * @throws {PolicyError} POLICY_DUPLICATE when the public key is already used on an earlier line
   */
  claim(key: VerifierKey, role: string, line: number): void {
    const id = publicKeyId(key);
    const prev = this.owners.get(id);
    if (prev !== undefined) {
      throw new PolicyError(
        'POLICY_DUPLICATE',
        this.file,
        line,
        `${role} key ${quote(key.name)} has the same public key as the ${prev}`,
      );
    }
    this.owners.set(id, `${role} key on line ${line}`);
  }
}
