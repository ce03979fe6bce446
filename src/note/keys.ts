/**
 * Signed-note keys (C2SP signed-note "verifier keys", and Go x/mod's private-key text format).
 *
 *   vkey:  <name>+<hex key ID>+base64(type || 32-byte Ed25519 public key)
 *   skey:  PRIVATE+KEY+<name>+<hex key ID>+base64(type || 32-byte Ed25519 seed)
 *
 * key ID = SHA-256(name || 0x0A || type || public key)[:4], for type 0x01 (note signatures) and
 * 0x04 (tlog-cosignature/v1 Ed25519 cosignatures) alike.
 *
 * Parsing is stricter than Go's `note.NewVerifier` in three places, on purpose: the key ID must
 * be lowercase hex (as C2SP writes it), base64 must be canonical, and the public key must pass
 * `assertAcceptablePublicKey` (no small-order points, no non-canonical encodings). Pure: no I/O.
 */
import { bytesEqual, fromBase64, toBase64, toHex, utf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import {
  assertAcceptablePublicKey,
  type KeyErrorCode,
  publicKeyFromSeed,
} from '../crypto/ed25519.js';
import { sha256 } from '../crypto/sha256.js';

/** Signature type byte of Ed25519 note signatures (C2SP signed-note). */
export const KEY_TYPE_ED25519 = 0x01;
/** Signature type byte of timestamped Ed25519 checkpoint cosignatures (C2SP tlog-cosignature v1). */
export const KEY_TYPE_COSIGNATURE = 0x04;

/** A parsed verifier key. `vkey` is its canonical text form. */
export interface VerifierKey {
  name: string;
  /** 4 bytes, big-endian key ID as it appears in signatures. */
  keyId: Uint8Array;
  /** KEY_TYPE_ED25519 or KEY_TYPE_COSIGNATURE. */
  type: number;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  vkey: string;
}

/** A parsed private key (Go x/mod format). Keep out of logs. */
export interface SignerKey {
  name: string;
  keyId: Uint8Array;
  type: number;
  /** 32-byte Ed25519 seed. */
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * Closed set of codes thrown by this module.
 * - KEY_MALFORMED: wrong number of parts, bad hex/base64, wrong lengths, missing PRIVATE+KEY prefix
 * - KEY_NAME_INVALID: empty name, a '+', a Unicode space, or a control character in the name
 * - KEY_ID_MISMATCH: the key ID does not match the name, type and key
 * - KEY_TYPE_UNSUPPORTED: a type byte other than 0x01 or 0x04
 * - KEY_INVALID | KEY_NONCANONICAL | KEY_SMALL_ORDER: the public key itself is refused
 */
export type KeyFormatErrorCode =
  | 'KEY_MALFORMED'
  | 'KEY_NAME_INVALID'
  | 'KEY_ID_MISMATCH'
  | 'KEY_TYPE_UNSUPPORTED'
  | KeyErrorCode;

/** The error type this module throws. */
export type KeyFormatError = VPauseError<KeyFormatErrorCode>;

function fail(code: KeyFormatErrorCode, message: string, cause?: unknown): never {
  throw new VPauseError<KeyFormatErrorCode>(code, message, cause === undefined ? {} : { cause });
}

// Unicode White_Space, as Go's unicode.IsSpace sees it (signed-note: "MUST NOT contain any
// Unicode spaces"). Spelled out because JS \s differs (it adds U+FEFF, lacks U+0085).
const SPACE_RE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
// C0 controls can never appear in a note (signed-note forbids them outside newlines).
const CONTROL_RE = /[\u0000-\u001f]/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const KEY_ID_RE = /^[0-9a-f]{8}$/;

/**
 * True when `name` is a valid signed-note key name: non-empty, well-formed Unicode (so valid
 * UTF-8), no '+', no Unicode space, no control character.
 */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !name.includes('+') &&
    !SPACE_RE.test(name) &&
    !CONTROL_RE.test(name) &&
    !LONE_SURROGATE_RE.test(name)
  );
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) {
    fail('KEY_NAME_INVALID', 'key name must be non-empty, without spaces, "+" or controls');
  }
}

function checkType(type: number): void {
  if (type !== KEY_TYPE_ED25519 && type !== KEY_TYPE_COSIGNATURE) {
    fail('KEY_TYPE_UNSUPPORTED', `key type ${type} is not supported (0x01 or 0x04 only)`);
  }
}

/**
 * The 4-byte key ID: SHA-256(name || 0x0A || type || publicKey)[:4].
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_NAME_INVALID for an invalid name,
 *   KEY_TYPE_UNSUPPORTED for a type that is not 0x00..0xff
 */
export function keyIdFor(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  checkName(name);
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    fail('KEY_TYPE_UNSUPPORTED', 'key type must be a byte');
  }
  return sha256(utf8(name), Uint8Array.of(0x0a, type), publicKey).slice(0, 4);
}

/** Splits at the first `count` '+' separators; the last part keeps any further '+'. */
function splitPlus(s: string, count: number): string[] | undefined {
  const parts: string[] = [];
  let rest = s;
  for (let i = 0; i < count; i++) {
    const j = rest.indexOf('+');
    if (j < 0) return undefined;
    parts.push(rest.slice(0, j));
    rest = rest.slice(j + 1);
  }
  parts.push(rest);
  return parts;
}

function decodeTypedKey(b64: string, what: string): { type: number; material: Uint8Array } {
  let raw: Uint8Array;
  try {
    raw = fromBase64(b64);
  } catch (cause) {
    fail('KEY_MALFORMED', `${what} key material is not canonical padded base64`, cause);
  }
  if (raw.length === 0) fail('KEY_MALFORMED', `${what} key material is empty`);
  const type = raw[0]!;
  checkType(type);
  const material = raw.slice(1);
  if (material.length !== 32) fail('KEY_MALFORMED', `${what} key must be 32 bytes after the type`);
  return { type, material };
}

/**
 * Parses a C2SP verifier key `name+hexid+base64(type||pubkey)`.
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_MALFORMED, KEY_NAME_INVALID, KEY_ID_MISMATCH,
 *   KEY_TYPE_UNSUPPORTED, or KEY_INVALID / KEY_NONCANONICAL / KEY_SMALL_ORDER for a refused key
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== 'string') fail('KEY_MALFORMED', 'vkey must be a string');
  const parts = splitPlus(vkey, 2);
  if (parts === undefined) fail('KEY_MALFORMED', 'vkey must be name+hexid+base64');
  const [name, idHex, b64] = parts as [string, string, string];
  checkName(name);
  if (!KEY_ID_RE.test(idHex)) fail('KEY_MALFORMED', 'vkey key ID must be 8 lowercase hex digits');
  const { type, material } = decodeTypedKey(b64, 'vkey');
  const keyId = keyIdFor(name, type, material);
  if (toHex(keyId) !== idHex)
    fail('KEY_ID_MISMATCH', `vkey key ID ${idHex} does not match the key`);
  assertAcceptablePublicKey(material);
  return { name, keyId, type, publicKey: material, vkey };
}

/**
 * Formats a verifier key. The public key must be acceptable (see `assertAcceptablePublicKey`).
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_NAME_INVALID, KEY_TYPE_UNSUPPORTED, or a refused key
 */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  checkName(name);
  checkType(type);
  assertAcceptablePublicKey(publicKey);
  const id = keyIdFor(name, type, publicKey);
  const material = new Uint8Array(33);
  material[0] = type;
  material.set(publicKey, 1);
  return `${name}+${toHex(id)}+${toBase64(material)}`;
}

/**
 * Parses a private key in Go x/mod's format `PRIVATE+KEY+<name>+<hexid>+<base64(type||seed)>`.
 * One trailing newline (LF or CRLF), as key files have, is tolerated.
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_MALFORMED, KEY_NAME_INVALID, KEY_ID_MISMATCH
 *   (the ID does not match the public key derived from the seed), KEY_TYPE_UNSUPPORTED
 */
export function parsePrivateKey(text: string): SignerKey {
  if (typeof text !== 'string') fail('KEY_MALFORMED', 'private key must be a string');
  let s = text;
  if (s.endsWith('\r\n')) s = s.slice(0, -2);
  else if (s.endsWith('\n')) s = s.slice(0, -1);
  const parts = splitPlus(s, 4);
  if (parts === undefined || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    fail('KEY_MALFORMED', 'private key must be PRIVATE+KEY+name+hexid+base64');
  }
  const [, , name, idHex, b64] = parts as [string, string, string, string, string];
  checkName(name);
  if (!KEY_ID_RE.test(idHex))
    fail('KEY_MALFORMED', 'private key ID must be 8 lowercase hex digits');
  const { type, material: seed } = decodeTypedKey(b64, 'private');
  const publicKey = publicKeyFromSeed(seed);
  const keyId = keyIdFor(name, type, publicKey);
  if (toHex(keyId) !== idHex) {
    fail('KEY_ID_MISMATCH', `private key ID ${idHex} does not match the derived public key`);
  }
  return { name, keyId, type, seed, publicKey };
}

/**
 * Formats a private key in Go x/mod's format (no trailing newline).
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_NAME_INVALID, KEY_TYPE_UNSUPPORTED
 * @throws {RangeError} when the seed is not 32 bytes
 */
export function formatPrivateKey(name: string, type: number, seed: Uint8Array): string {
  checkName(name);
  checkType(type);
  if (seed.length !== 32) throw new RangeError('formatPrivateKey: seed must be 32 bytes');
  const id = keyIdFor(name, type, publicKeyFromSeed(seed));
  const material = new Uint8Array(33);
  material[0] = type;
  material.set(seed, 1);
  return `PRIVATE+KEY+${name}+${toHex(id)}+${toBase64(material)}`;
}

/**
 * Generates a key pair from injected randomness (`random(32)` must return 32 fresh bytes).
 * @throws {VPauseError<KeyFormatErrorCode>} KEY_NAME_INVALID, KEY_TYPE_UNSUPPORTED
 * @throws {RangeError} when `random` does not return 32 bytes
 */
export function generateKey(
  name: string,
  type: number,
  random: (n: number) => Uint8Array,
): { privateKey: string; vkey: string; signer: SignerKey } {
  checkName(name);
  checkType(type);
  const r = random(32);
  if (!(r instanceof Uint8Array) || r.length !== 32) {
    throw new RangeError('generateKey: random(32) must return 32 bytes');
  }
  const seed = Uint8Array.from(r);
  const publicKey = publicKeyFromSeed(seed);
  const signer: SignerKey = { name, keyId: keyIdFor(name, type, publicKey), type, seed, publicKey };
  return {
    privateKey: formatPrivateKey(name, type, seed),
    vkey: formatVerifierKey(name, type, publicKey),
    signer,
  };
}

/** The verifier key of a signer. */
export function verifierKeyOf(signer: SignerKey): VerifierKey {
  return {
    name: signer.name,
    keyId: signer.keyId.slice(),
    type: signer.type,
    publicKey: signer.publicKey.slice(),
    vkey: formatVerifierKey(signer.name, signer.type, signer.publicKey),
  };
}

/** `name+hexid`: the first two parts of the vkey; the DSSE `keyid` of a vpause signer. */
export function keyIdString(k: VerifierKey | SignerKey): string {
  return `${k.name}+${toHex(k.keyId)}`;
}

/** True when both keys have the same name, key ID, type and public key. */
export function sameVerifierKey(a: VerifierKey, b: VerifierKey): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    bytesEqual(a.keyId, b.keyId) &&
    bytesEqual(a.publicKey, b.publicKey)
  );
}

/**
 * Verifier keys by keyid (`keyIdString`), added as vkeys: the keys a signature's keyid may
 * name. A vkey that does not parse, or is already here, is skipped.
 */
export class KeysById {
  private readonly byId = new Map<string, VerifierKey[]>();
  private readonly seen = new Set<string>();
  private gen = 0;

  constructor(vkeys: readonly string[] = []) {
    for (const v of vkeys) this.add(v);
  }

  /** Adds a key; false when its vkey does not parse or is already here. */
  add(vkey: string): boolean {
    if (this.seen.has(vkey)) return false;
    let k: VerifierKey;
    try {
      k = parseVerifierKey(vkey);
    } catch {
      return false;
    }
    this.seen.add(vkey);
    this.gen++;
    const id = keyIdString(k);
    const l = this.byId.get(id);
    if (l === undefined) this.byId.set(id, [k]);
    else if (!l.some((x) => x.vkey === k.vkey)) l.push(k);
    return true;
  }

  /** Whether this vkey was added. */
  has(vkey: string): boolean {
    return this.seen.has(vkey);
  }

  /** The keys a keyid names. */
  get(keyid: string): readonly VerifierKey[] | undefined {
    return this.byId.get(keyid);
  }

  /** Changes whenever `get` may answer differently (a key added, the ring cleared). */
  get generation(): number {
    return this.gen;
  }

  /** Number of vkeys added. */
  get size(): number {
    return this.seen.size;
  }

  clear(): void {
    this.byId.clear();
    this.seen.clear();
    this.gen++;
  }
}
