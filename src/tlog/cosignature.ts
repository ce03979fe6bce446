/**
 * C2SP tlog-cosignature v1, Ed25519 (signature type 0x04): a witness's timestamped statement
 * that, as of `time`, the checkpoint body is the largest consistent tree head it has seen.
 *
 *   signed message  = "cosignature/v1\n" || "time <t>\n" || checkpoint body
 *   signature bytes = key ID (4) || u64 big-endian t (8) || Ed25519 signature (64)
 *   key ID          = SHA-256(name || 0x0A || 0x04 || public key)[:4]
 *
 * `openNote` (../note/note.ts) verifies type-0x04 keys it is given through `verifyCosignature`;
 * `verifiedCosignatures` reads which witnesses cosigned an already opened note, and when.
 * ML-DSA-44 cosignatures (type 0x06) are not supported. Pure: no I/O.
 */
import { bytesEqual, toBase64, utf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { signEd25519, verifyEd25519 } from '../crypto/ed25519.js';
import {
  isValidKeyName,
  KEY_TYPE_COSIGNATURE,
  type SignerKey,
  type VerifierKey,
} from '../note/keys.js';
import type { NoteSignature, OpenedNote } from '../note/note.js';

/** The domain-separation header line of cosignature/v1 messages. */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1\n';

/** Length of a cosignature/v1 signature after the key ID: u64 timestamp || Ed25519 signature. */
export const COSIGNATURE_V1_SIG_LENGTH = 8 + 64;

/**
 * Codes thrown by this module.
 * - COSIGNATURE_SIGNER: the signer is not a usable type-0x04 key
 * - COSIGNATURE_BODY: the body cannot be a checkpoint note text
 */
export type CosignatureErrorCode = 'COSIGNATURE_SIGNER' | 'COSIGNATURE_BODY';

/** A witness cosignature that verified. */
export interface VerifiedCosignature {
  key: VerifierKey;
  /** POSIX seconds, as signed by the witness. */
  time: number;
}

const BAD_CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;
const U63_MAX = (1n << 63n) - 1n;

function checkTime(time: number): void {
  if (!Number.isSafeInteger(time) || time < 0) {
    throw new RangeError('cosignature time must be a non-negative safe integer (POSIX seconds)');
  }
}

/**
 * The cosignature/v1 signed message: `cosignature/v1\ntime <t>\n` followed by the checkpoint
 * body (the note text, final newline included, no signature lines).
 * @throws {RangeError} when `time` is not a non-negative safe integer
 */
export function cosignatureMessage(checkpointBody: string, time: number): Uint8Array {
  checkTime(time);
  return utf8(`${COSIGNATURE_V1_HEADER}time ${time}\n${checkpointBody}`);
}

/**
 * Cosigns a checkpoint body and returns the note signature line to append to the checkpoint:
 * `— <name> base64(keyID || u64be time || Ed25519 sig)\n`. The caller (a witness) must have
 * checked the checkpoint (log signature, consistency) first; this only signs.
 * @throws {VPauseError<CosignatureErrorCode>} COSIGNATURE_SIGNER when the signer is not a
 *   well-formed type-0x04 key; COSIGNATURE_BODY when the body does not end in a newline or
 *   contains control characters
 * @throws {RangeError} when `time` is not a non-negative safe integer
 */
export function signCosignature(checkpointBody: string, signer: SignerKey, time: number): string {
  if (signer.type !== KEY_TYPE_COSIGNATURE) {
    throw new VPauseError<CosignatureErrorCode>(
      'COSIGNATURE_SIGNER',
      `cosigner ${signer.name} is not a type 0x04 key`,
    );
  }
  if (!isValidKeyName(signer.name) || signer.keyId.length !== 4 || signer.seed.length !== 32) {
    throw new VPauseError<CosignatureErrorCode>('COSIGNATURE_SIGNER', 'malformed cosigner key');
  }
  if (
    typeof checkpointBody !== 'string' ||
    !checkpointBody.endsWith('\n') ||
    BAD_CONTROL_RE.test(checkpointBody)
  ) {
    throw new VPauseError<CosignatureErrorCode>(
      'COSIGNATURE_BODY',
      'checkpoint body must end in a newline and contain no control characters',
    );
  }
  const sig = signEd25519(signer.seed, cosignatureMessage(checkpointBody, time));
  const raw = new Uint8Array(4 + COSIGNATURE_V1_SIG_LENGTH);
  raw.set(signer.keyId, 0);
  new DataView(raw.buffer).setBigUint64(4, BigInt(time), false);
  raw.set(sig, 12);
  return `\u2014 ${signer.name} ${toBase64(raw)}\n`;
}

/**
 * Verifies one note signature as a cosignature/v1 by `key` over `checkpointBody`. Returns the
 * signed time, or undefined when the signature is not by this key (name or key ID differ, the
 * key is not type 0x04), is not 72 bytes, carries a time above 2^63−1 or above
 * Number.MAX_SAFE_INTEGER (≈ 285 million years from now), or does not verify. Never throws.
 */
export function verifyCosignature(
  checkpointBody: string,
  signature: NoteSignature,
  key: VerifierKey,
): { time: number } | undefined {
  if (key.type !== KEY_TYPE_COSIGNATURE) return undefined;
  if (signature.name !== key.name || !bytesEqual(signature.keyId, key.keyId)) return undefined;
  const s = signature.sig;
  if (s.length !== COSIGNATURE_V1_SIG_LENGTH) return undefined;
  const t = new DataView(s.buffer, s.byteOffset, s.byteLength).getBigUint64(0, false);
  if (t > U63_MAX || t > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const time = Number(t);
  const ok = verifyEd25519(key.publicKey, cosignatureMessage(checkpointBody, time), s.subarray(8));
  return ok ? { time } : undefined;
}

/**
 * The witnesses among `witnesses` whose cosignature on `checkpointBody` is in the note, with
 * their signed times, in note order. Each witness counts once, and, as in `openNote`, only the
 * first signature line carrying its name and key ID is considered.
 */
export function verifiedCosignatures(
  openedNote: OpenedNote,
  checkpointBody: string,
  witnesses: readonly VerifierKey[],
): VerifiedCosignature[] {
  const out: VerifiedCosignature[] = [];
  const seen = new Set<string>();
  for (const s of openedNote.signatures) {
    const id = `${s.name}\u0000${toBase64(s.keyId)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const w of witnesses) {
      if (w.type !== KEY_TYPE_COSIGNATURE || w.name !== s.name || !bytesEqual(w.keyId, s.keyId)) {
        continue;
      }
      if (out.some((o) => o.key === w)) continue;
      const r = verifyCosignature(checkpointBody, s, w);
      if (r !== undefined) out.push({ key: w, time: r.time });
    }
  }
  return out;
}
