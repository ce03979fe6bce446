/**
 * The line layer shared by every vpause policy-like file (C2SP tlog-policy, the vpause trust
 * policy, the log's ADMIT.txt): character set, comments, blank lines, field splitting, and the
 * typed readers for keys, URLs and numbers. Pure: no I/O.
 */
import { toHex } from '../core/bytes.js';
import { parseVerifierKey, type VerifierKey } from '../note/keys.js';
import { PolicyError, quote } from './errors.js';

/** One significant line: its 1-based number and its whitespace-separated fields. */
export interface PolicyLine {
  line: number;
  fields: string[];
}

/** Upper bounds a parser enforces; the defaults are well above tlog-policy's recommended 32. */
export interface PolicyLimits {
  /** bytes (UTF-16 code units) in the whole file */
  maxFileChars: number;
  /** characters in one line */
  maxLineChars: number;
  logs: number;
  witnesses: number;
  groups: number;
  /** vpause lab, meter and facility lines, each */
  entries: number;
}

export const DEFAULT_LIMITS: Readonly<PolicyLimits> = Object.freeze({
  maxFileChars: 1 << 20,
  maxLineChars: 8192,
  logs: 256,
  witnesses: 256,
  groups: 256,
  entries: 4096,
});

/**
 * tlog-policy "Character set": the only octets allowed are 0x09 (tab), 0x0A (newline), 0x20–0x7E
 * and 0x80–0xFF. On a decoded string that means: tab, newline, printable ASCII, and any character
 * at or above U+0080 (opaque to the syntax). CR, other C0 controls and DEL are refused.
 */
const FORBIDDEN_CHAR = /[\u0000-\u0008\u000b-\u001f\u007f]/;
/** tlog-policy whitespace is ASCII space and tab only. */
const WS = /[ \t]+/;

/**
 * Splits a policy file into significant lines. Blank lines (spaces and tabs only) and comment
 * lines (first non-blank character `#`) are dropped. A final line without a newline is accepted.
 * @throws {PolicyError} POLICY_SYNTAX for a forbidden character, POLICY_LIMIT for an over-long
 *   file or line
 */
export function splitPolicyLines(
  text: string,
  file: string,
  limits: PolicyLimits = DEFAULT_LIMITS,
): PolicyLine[] {
  if (typeof text !== 'string') {
    throw new PolicyError('POLICY_SYNTAX', file, undefined, 'policy text must be a string');
  }
  if (text.length > limits.maxFileChars) {
    throw new PolicyError(
      'POLICY_LIMIT',
      file,
      undefined,
      `file longer than ${limits.maxFileChars} characters`,
    );
  }
  const raw = text.split('\n');
  // "each line is terminated by ASCII newline": a trailing newline ends the last line, it does
  // not start an empty one.
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const out: PolicyLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    const lineNo = i + 1;
    const s = raw[i]!;
    if (s.length > limits.maxLineChars) {
      throw new PolicyError(
        'POLICY_LIMIT',
        file,
        lineNo,
        `line longer than ${limits.maxLineChars} characters`,
      );
    }
    const bad = FORBIDDEN_CHAR.exec(s);
    if (bad !== null) {
      const code = bad[0].charCodeAt(0).toString(16).padStart(2, '0');
      throw new PolicyError('POLICY_SYNTAX', file, lineNo, `forbidden control character 0x${code}`);
    }
    const trimmed = s.replace(/^[ \t]+|[ \t]+$/g, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ line: lineNo, fields: trimmed.split(WS) });
  }
  return out;
}

/**
 * Checks a line's field count (including the directive).
 * @throws {PolicyError} POLICY_SYNTAX
 */
export function expectFields(
  l: PolicyLine,
  file: string,
  min: number,
  max: number,
  usage: string,
): void {
  const n = l.fields.length;
  if (n < min || n > max) {
    throw new PolicyError('POLICY_SYNTAX', file, l.line, `expected "${usage}"`);
  }
}

/**
 * Parses a vkey field and checks its signature type.
 * @throws {PolicyError} POLICY_KEY (with the key parser's error as `cause`)
 */
export function readKey(
  token: string,
  allowedTypes: readonly number[],
  role: string,
  file: string,
  line: number,
): VerifierKey {
  let key: VerifierKey;
  try {
    key = parseVerifierKey(token);
  } catch (e) {
    const why = e instanceof Error && 'code' in e ? ` (${String(e.code)})` : '';
    throw new PolicyError('POLICY_KEY', file, line, `${role} key is not a valid vkey${why}`, {
      cause: e,
    });
  }
  if (!allowedTypes.includes(key.type)) {
    const want = allowedTypes.map((t) => `0x${t.toString(16).padStart(2, '0')}`).join(' or ');
    throw new PolicyError(
      'POLICY_KEY',
      file,
      line,
      `${role} key ${quote(key.name)} has signature type 0x${key.type.toString(16).padStart(2, '0')}, want ${want}`,
    );
  }
  return key;
}

const URL_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^ \t]+$/;

/**
 * Checks an optional URL field: an absolute URL with a scheme (so a stray `#` comment after a
 * key is not mistaken for one).
 * @throws {PolicyError} POLICY_SYNTAX
 */
export function readUrl(token: string, file: string, line: number): string {
  if (!URL_RE.test(token)) {
    throw new PolicyError('POLICY_SYNTAX', file, line, `${quote(token)} is not an absolute URL`);
  }
  return token;
}

const DECIMAL_RE = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Reads a non-negative decimal number (`1.2`, `250000`, `5e-3`).
 * @throws {PolicyError} POLICY_SYNTAX when the token is not such a number
 */
export function readNumber(token: string, what: string, file: string, line: number): number {
  const v = DECIMAL_RE.test(token) ? Number(token) : Number.NaN;
  if (!Number.isFinite(v)) {
    throw new PolicyError('POLICY_SYNTAX', file, line, `${what} ${quote(token)} is not a number`);
  }
  return v;
}

/** Facility identifiers as statements carry them: no `/` (scope entries are facility/cluster). */
const FACILITY_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * Reads a facility identifier: 1–128 of `A–Z a–z 0–9 . _ : -`, starting with a letter or digit.
 * @throws {PolicyError} POLICY_SYNTAX
 */
export function readFacilityId(token: string, file: string, line: number): string {
  if (!FACILITY_RE.test(token)) {
    throw new PolicyError(
      'POLICY_SYNTAX',
      file,
      line,
      `${quote(token)} is not a facility id (letters, digits, . _ : -)`,
    );
  }
  return token;
}

/** The public key bytes as a map key (two vkeys are duplicates when these are equal). */
export function publicKeyId(key: VerifierKey): string {
  return toHex(key.publicKey);
}
