/**
 * C2SP signed notes (c2sp.org/signed-note), with the semantics of Go's golang.org/x/mod/sumdb/note
 * `Sign` and `Open`, so that notes interoperate byte for byte with Go tooling (x/mod, Tessera,
 * Sunlight, the transparency-dev witness).
 *
 *   <text ending in \n>\n
 *   — <key name> base64(4-byte key ID || signature)\n     (one or more lines)
 *
 * `openNote`, like Go's `note.Open`:
 * - rejects invalid UTF-8 and ASCII control characters other than newline (NOTE_MALFORMED);
 * - splits text from signatures at the LAST blank line; each signature line must be
 *   "— name base64\n", with a valid key name and at least 5 decoded bytes (NOTE_MALFORMED);
 * - ignores signatures from unknown keys (name and key ID not both matching a verifier);
 *   repeated identical unknown lines are listed once;
 * - verifies the first signature of each known key (later ones by the same key are dropped) and
 *   rejects the whole note if it fails (NOTE_BAD_SIGNATURE);
 * - rejects a note when two verifiers share the name and key ID a signature names
 *   (NOTE_AMBIGUOUS_KEY);
 * - requires at least one verified signature (NOTE_UNVERIFIED);
 * - caps the number of signature lines (default 100, as x/mod; never below the 16 C2SP requires)
 *   and the note size (default 1 MiB) (NOTE_TOO_BIG; x/mod reports too many signatures as a
 *   malformed note and has no size cap).
 *
 * Signature types. Type 0x01 keys verify Ed25519 over the note text. Type 0x04 keys (witness
 * cosigners, c2sp.org/tlog-cosignature v1) are verified here too, over the cosignature/v1
 * message built from the note text (see ../tlog/cosignature.ts), exactly as a Go program passing
 * a cosignature verifier to `note.Open` does. So a known cosigner whose cosignature fails rejects
 * the note like any other known key, and `verified` lists witnesses as well as log keys; use
 * `verifiedCosignatures` to read their timestamps. Signatures of other types are only ever
 * "unknown" and ignored.
 *
 * The one deliberate difference from Go: base64 in signature lines is decoded like Go's
 * `base64.StdEncoding` (padding required, non-zero trailing bits tolerated), but key IDs and
 * names are compared exactly. Pure: no I/O.
 */
import { toBase64, toHex, utf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { signEd25519, verifyEd25519 } from '../crypto/ed25519.js';
import { verifyCosignature } from '../tlog/cosignature.js';
import {
  isValidKeyName,
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  type SignerKey,
  type VerifierKey,
} from './keys.js';

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  /** The 4-byte key ID. */
  keyId: Uint8Array;
  /** The signature bytes after the 4-byte key ID (for type 0x04: u64 timestamp || Ed25519 sig). */
  sig: Uint8Array;
}

/** The result of `openNote`. */
export interface OpenedNote {
  /** The note text, including its final newline, excluding the blank separator line. */
  text: string;
  /**
   * Every signature line kept after Go's de-duplication, in note order: verified ones and ones
   * from unknown keys alike.
   */
  signatures: NoteSignature[];
  /** The verifier keys whose signatures verified, in note order (each once). */
  verified: VerifierKey[];
}

/** A note split into text and signature lines, before any verification. */
export interface ParsedNote {
  text: string;
  signatures: NoteSignature[];
}

/**
 * Closed set of codes thrown by this module.
 * - NOTE_MALFORMED: not a well-formed signed note (encoding, controls, layout, a bad line)
 * - NOTE_TOO_BIG: more bytes or more signature lines than the limits
 * - NOTE_UNVERIFIED: no signature from a known key verified
 * - NOTE_BAD_SIGNATURE: a signature from a known key failed to verify
 * - NOTE_AMBIGUOUS_KEY: two verifiers share the name and key ID of a signature
 * - NOTE_INVALID_SIGNER: `signNote` was given a signer it cannot use
 */
export type NoteErrorCode =
  | 'NOTE_MALFORMED'
  | 'NOTE_TOO_BIG'
  | 'NOTE_UNVERIFIED'
  | 'NOTE_BAD_SIGNATURE'
  | 'NOTE_AMBIGUOUS_KEY'
  | 'NOTE_INVALID_SIGNER';

/** The error type this module throws. */
export type NoteError = VPauseError<NoteErrorCode>;

/** Default cap on signature lines (Go x/mod's). */
export const NOTE_MAX_SIGNATURES = 100;
/** The fewest signature lines a verifier may be configured to accept (C2SP: at least 16). */
export const NOTE_MIN_SIGNATURES_CAP = 16;
/** Default cap on the size of a note, in bytes. */
export const NOTE_MAX_BYTES = 1 << 20;

/** Limits for `openNote` / `parseNote`. */
export interface OpenNoteOptions {
  /** Most signature lines accepted; an integer ≥ 16. Default 100. */
  maxSignatures?: number;
  /** Most bytes accepted (UTF-8). Default 1 MiB. */
  maxBytes?: number;
}

const SIG_PREFIX = '\u2014 ';
// ASCII controls other than newline.
const BAD_CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Padded standard base64; trailing bits are not checked (Go's StdEncoding is not Strict).
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fail(code: NoteErrorCode, message: string, cause?: unknown): never {
  throw new VPauseError<NoteErrorCode>(code, message, cause === undefined ? {} : { cause });
}

function limits(opts: OpenNoteOptions | undefined): { maxSignatures: number; maxBytes: number } {
  const maxSignatures = opts?.maxSignatures ?? NOTE_MAX_SIGNATURES;
  const maxBytes = opts?.maxBytes ?? NOTE_MAX_BYTES;
  if (!Number.isSafeInteger(maxSignatures) || maxSignatures < NOTE_MIN_SIGNATURES_CAP) {
    throw new RangeError(`maxSignatures must be an integer ≥ ${NOTE_MIN_SIGNATURES_CAP}`);
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new RangeError('maxBytes must be a positive integer');
  }
  return { maxSignatures, maxBytes };
}

/** Decodes the note to a string, enforcing the size limit and UTF-8 validity. */
function noteString(note: string | Uint8Array, maxBytes: number): string {
  if (typeof note === 'string') {
    // Every UTF-16 code unit encodes to at least one byte.
    if (note.length > maxBytes) fail('NOTE_TOO_BIG', `note is larger than ${maxBytes} bytes`);
    if (LONE_SURROGATE_RE.test(note)) fail('NOTE_MALFORMED', 'note is not valid UTF-8');
    if (utf8(note).length > maxBytes) fail('NOTE_TOO_BIG', `note is larger than ${maxBytes} bytes`);
    return note;
  }
  if (!(note instanceof Uint8Array)) fail('NOTE_MALFORMED', 'note must be a string or bytes');
  if (note.length > maxBytes) fail('NOTE_TOO_BIG', `note is larger than ${maxBytes} bytes`);
  try {
    return decoder.decode(note);
  } catch (cause) {
    fail('NOTE_MALFORMED', 'note is not valid UTF-8', cause);
  }
}

function decodeSigBase64(b64: string): Uint8Array | undefined {
  if (b64 === '' || !B64_RE.test(b64)) return undefined;
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** Parses one signature line (without its newline). */
function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) {
    fail('NOTE_MALFORMED', 'signature line does not start with "— "');
  }
  const rest = line.slice(SIG_PREFIX.length);
  const sp = rest.indexOf(' ');
  const name = sp < 0 ? rest : rest.slice(0, sp);
  const b64 = sp < 0 ? '' : rest.slice(sp + 1);
  if (!isValidKeyName(name)) fail('NOTE_MALFORMED', 'signature line has an invalid key name');
  const raw = decodeSigBase64(b64);
  if (raw === undefined) fail('NOTE_MALFORMED', 'signature is not padded standard base64');
  if (raw.length < 5) fail('NOTE_MALFORMED', 'signature is shorter than a key ID and one byte');
  return { name, keyId: raw.slice(0, 4), sig: raw.slice(4) };
}

interface SplitNote {
  text: string;
  lines: string[];
  maxSignatures: number;
}

function splitNote(note: string | Uint8Array, opts: OpenNoteOptions | undefined): SplitNote {
  const { maxSignatures, maxBytes } = limits(opts);
  const s = noteString(note, maxBytes);
  if (BAD_CONTROL_RE.test(s)) fail('NOTE_MALFORMED', 'note contains a control character');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) fail('NOTE_MALFORMED', 'note has no blank line before its signatures');
  const text = s.slice(0, split + 1);
  const sigs = s.slice(split + 2);
  if (sigs === '' || !sigs.endsWith('\n')) {
    fail('NOTE_MALFORMED', 'note signatures are missing or not newline-terminated');
  }
  // Lines past the first one over the cap are never looked at.
  const lines = sigs.slice(0, -1).split('\n', maxSignatures + 1);
  return { text, lines, maxSignatures };
}

function checkCount(n: number, maxSignatures: number): void {
  if (n > maxSignatures) fail('NOTE_TOO_BIG', `note has more than ${maxSignatures} signatures`);
}

/**
 * Splits a note into its text and signature lines without verifying anything. The text MUST
 * be ignored until a trusted signature is verified: use `openNote` for that.
 * @throws {VPauseError<NoteErrorCode>} NOTE_MALFORMED, NOTE_TOO_BIG
 * @throws {RangeError} for limits below the minimums
 */
export function parseNote(note: string | Uint8Array, opts?: OpenNoteOptions): ParsedNote {
  const { text, lines, maxSignatures } = splitNote(note, opts);
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    signatures.push(parseSignatureLine(line));
    checkCount(signatures.length, maxSignatures);
  }
  return { text, signatures };
}

/**
 * One signature line, with its final newline: `— <name> base64(keyId || sig)\n`.
 * @throws {VPauseError<NoteErrorCode>} NOTE_INVALID_SIGNER for an invalid name or key ID length
 */
export function formatSignatureLine(s: NoteSignature): string {
  if (!isValidKeyName(s.name)) fail('NOTE_INVALID_SIGNER', 'invalid key name');
  if (s.keyId.length !== 4) fail('NOTE_INVALID_SIGNER', 'key ID must be 4 bytes');
  if (s.sig.length < 1) fail('NOTE_INVALID_SIGNER', 'signature must not be empty');
  const raw = new Uint8Array(4 + s.sig.length);
  raw.set(s.keyId, 0);
  raw.set(s.sig, 4);
  return `${SIG_PREFIX}${s.name} ${toBase64(raw)}\n`;
}

function checkText(text: string): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) {
    fail('NOTE_MALFORMED', 'note text must end with a newline');
  }
  if (LONE_SURROGATE_RE.test(text)) fail('NOTE_MALFORMED', 'note text is not valid UTF-8');
  if (BAD_CONTROL_RE.test(text)) fail('NOTE_MALFORMED', 'note text contains a control character');
}

/**
 * Serialises a note from its text and signature lines (the inverse of `parseNote`).
 * @throws {VPauseError<NoteErrorCode>} NOTE_MALFORMED for a bad text or no signatures,
 *   NOTE_INVALID_SIGNER for a bad signature line
 */
export function formatNote(n: ParsedNote): string {
  checkText(n.text);
  if (n.signatures.length === 0) fail('NOTE_MALFORMED', 'a note needs at least one signature');
  return `${n.text}\n${n.signatures.map(formatSignatureLine).join('')}`;
}

/**
 * Signs `text` with each signer (Ed25519, type 0x01), in order, like Go's `note.Sign`.
 * Cosigners (type 0x04) sign with `signCosignature` instead, since their signature carries a
 * timestamp.
 * @throws {VPauseError<NoteErrorCode>} NOTE_MALFORMED when the text does not end in a newline,
 *   is not valid UTF-8 or contains control characters; NOTE_INVALID_SIGNER for no signers, an
 *   invalid name, a type other than 0x01, or a malformed key
 */
export function signNote(text: string, signers: readonly SignerKey[]): string {
  checkText(text);
  if (signers.length === 0) fail('NOTE_INVALID_SIGNER', 'signNote needs at least one signer');
  const msg = utf8(text);
  let lines = '';
  for (const s of signers) {
    if (s.type !== KEY_TYPE_ED25519) {
      fail(
        'NOTE_INVALID_SIGNER',
        `signer ${s.name} is not type 0x01 (cosigners use signCosignature)`,
      );
    }
    if (!isValidKeyName(s.name)) fail('NOTE_INVALID_SIGNER', 'signer has an invalid key name');
    if (s.keyId.length !== 4 || s.seed.length !== 32) {
      fail('NOTE_INVALID_SIGNER', `signer ${s.name} has a malformed key`);
    }
    lines += formatSignatureLine({ name: s.name, keyId: s.keyId, sig: signEd25519(s.seed, msg) });
  }
  return `${text}\n${lines}`;
}

function verifierIndex(verifiers: readonly VerifierKey[]): Map<string, VerifierKey[]> {
  const m = new Map<string, VerifierKey[]>();
  for (const v of verifiers) {
    if (v.type !== KEY_TYPE_ED25519 && v.type !== KEY_TYPE_COSIGNATURE) {
      throw new TypeError(`verifier ${v.name}: unsupported key type ${v.type}`);
    }
    const k = `${v.name}+${toHex(v.keyId)}`;
    const list = m.get(k);
    if (list === undefined) m.set(k, [v]);
    else list.push(v);
  }
  return m;
}

function verifyOne(text: string, msg: Uint8Array, s: NoteSignature, v: VerifierKey): boolean {
  if (v.type === KEY_TYPE_ED25519) return verifyEd25519(v.publicKey, msg, s.sig);
  return verifyCosignature(text, s, v) !== undefined;
}

/**
 * Opens a signed note: parses it and verifies the signatures of known keys, with the semantics
 * of Go's `note.Open` (see the module comment).
 * @throws {VPauseError<NoteErrorCode>} NOTE_MALFORMED, NOTE_TOO_BIG, NOTE_AMBIGUOUS_KEY,
 *   NOTE_BAD_SIGNATURE (a known key's signature failed), NOTE_UNVERIFIED (none verified)
 * @throws {RangeError} for limits below the minimums; {TypeError} for a verifier of another type
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly VerifierKey[],
  opts?: OpenNoteOptions,
): OpenedNote {
  const index = verifierIndex(verifiers);
  const { text, lines, maxSignatures } = splitNote(note, opts);
  const msg = utf8(text);
  const signatures: NoteSignature[] = [];
  const verified: VerifierKey[] = [];
  const seenKnown = new Set<string>();
  const seenUnknown = new Set<string>();
  let count = 0;
  for (const line of lines) {
    const s = parseSignatureLine(line);
    checkCount(++count, maxSignatures);
    const id = `${s.name}+${toHex(s.keyId)}`;
    const candidates = index.get(id);
    if (candidates === undefined) {
      if (!seenUnknown.has(line)) {
        seenUnknown.add(line);
        signatures.push(s);
      }
      continue;
    }
    if (candidates.length > 1) fail('NOTE_AMBIGUOUS_KEY', `ambiguous key ${id}`);
    if (seenKnown.has(id)) continue;
    seenKnown.add(id);
    const v = candidates[0]!;
    if (!verifyOne(text, msg, s, v)) fail('NOTE_BAD_SIGNATURE', `invalid signature for key ${id}`);
    signatures.push(s);
    verified.push(v);
  }
  if (verified.length === 0) fail('NOTE_UNVERIFIED', 'note has no verifiable signatures');
  return { text, signatures, verified };
}
