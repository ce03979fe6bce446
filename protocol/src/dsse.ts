/**
 * DSSE v1 (Dead Simple Signing Envelope) with Ed25519, as vpause uses it.
 *
 * The signature covers PAE(payloadType, payload), never the envelope JSON, so the signed bytes
 * are unambiguous however the envelope is serialised. `keyid` is the signer's key name and hex
 * key ID joined by `+` (the first two parts of its C2SP vkey), which names both the key and,
 * through the key ID, its signature type.
 */
import { concatBytes, fromBase64, toBase64, utf8 } from '../../src/core/bytes.js';
import { signEd25519, verifyEd25519 } from '../../src/crypto/ed25519.js';
import {
  KEY_TYPE_ED25519,
  keyIdString,
  type SignerKey,
  type VerifierKey,
} from '../../src/note/keys.js';
import { type StatementError, statementError } from './errors.js';
import type { Envelope } from './schemas.js';

/** `paeTypeHeader` of the payload types seen, cached (a handful are in use). */
const typeHeads = new Map<string, Uint8Array>();

/**
 * The start of PAE(type, body) that depends on the type alone: `"DSSEv1" SP LEN(type) SP type SP`
 * (for callers that write `LEN(body) SP body` after it themselves). Shared: do not modify.
 */
export function paeTypeHeader(type: string): Uint8Array {
  let h = typeHeads.get(type);
  if (h === undefined) {
    const t = utf8(type);
    h = concatBytes(utf8(`DSSEv1 ${t.length} `), t, utf8(' '));
    if (typeHeads.size < 64) typeHeads.set(type, h);
  }
  return h;
}

/**
 * The DSSE v1 pre-authentication encoding:
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where LEN is the byte length in ASCII
 * decimal without leading zeros and `type` is encoded as UTF-8.
 */
export function pae(type: string, body: Uint8Array): Uint8Array {
  return concatBytes(paeTypeHeader(type), utf8(`${body.length} `), body);
}

function assertEd25519(k: { type: number; name: string }): void {
  if (k.type !== KEY_TYPE_ED25519) {
    throw statementError(
      'KEY_UNSUPPORTED',
      `key ${k.name} has signature type ${k.type}; statements use Ed25519 (0x01) keys`,
    );
  }
}

/**
 * Signs `payload` as a one-signature DSSE envelope.
 * @throws {StatementError} KEY_UNSUPPORTED when the signer is not an Ed25519 (type 0x01) key
 */
export function signEnvelope(
  payloadType: string,
  payload: Uint8Array,
  signer: SignerKey,
): Envelope {
  assertEd25519(signer);
  const sig = signEd25519(signer.seed, pae(payloadType, payload));
  return {
    payloadType,
    payload: toBase64(payload),
    signatures: [{ keyid: keyIdString(signer), sig: toBase64(sig) }],
  };
}

/** The error of a signature, by the key `keyid` names, that does not verify. */
export function signatureDoesNotVerify(keyid: string): StatementError {
  return statementError('SIGNATURE_INVALID', `signature by ${keyid} does not verify`);
}

/**
 * @internal Checks the signatures over (payloadType, payload) against trusted keys, following
 * the signed-note rule: signatures whose keyid names no trusted key are ignored; every signature
 * whose keyid names a trusted key must verify; at least one must.
 */
export function verifySignatures(
  payloadType: string,
  payload: Uint8Array,
  signatures: readonly { keyid: string; sig: string }[],
  keys: readonly VerifierKey[],
): VerifierKey[] {
  if (signatures.length === 0)
    throw statementError('SIGNATURE_MISSING', 'envelope has no signatures');
  for (const k of keys) assertEd25519(k);
  const msg = pae(payloadType, payload);
  const verified: VerifierKey[] = [];
  for (const s of signatures) {
    for (const k of keys) {
      if (keyIdString(k) !== s.keyid) continue;
      let sig: Uint8Array;
      try {
        sig = fromBase64(s.sig);
      } catch (cause) {
        throw statementError('SIGNATURE_INVALID', `signature by ${s.keyid} is not base64`, cause);
      }
      if (!verifyEd25519(k.publicKey, msg, sig)) throw signatureDoesNotVerify(s.keyid);
      verified.push(k);
    }
  }
  if (verified.length === 0) {
    throw statementError('KEYID_MISMATCH', 'no signature names a trusted key');
  }
  return verified;
}

/**
 * Verifies a DSSE envelope against trusted keys and returns the keys whose signatures verified.
 * Signatures by keys not in `keys` are ignored; a signature naming a trusted key that fails to
 * verify rejects the whole envelope.
 * @throws {StatementError} SIGNATURE_MISSING (no signatures), PAYLOAD_NOT_BASE64,
 *   KEY_UNSUPPORTED (a trusted key is not Ed25519), SIGNATURE_INVALID, KEYID_MISMATCH (no
 *   signature names a trusted key)
 */
export function verifyEnvelope(env: Envelope, keys: readonly VerifierKey[]): VerifierKey[] {
  let payload: Uint8Array;
  try {
    payload = fromBase64(env.payload);
  } catch (cause) {
    throw statementError('PAYLOAD_NOT_BASE64', 'payload is not canonical padded base64', cause);
  }
  return verifySignatures(env.payloadType, payload, env.signatures, keys);
}
