/**
 * Verdicts signed with the verifier key (DESIGN §1: the verifier signs verdicts and audit
 * challenges). A signed verdict is a DSSE v1 envelope, payloadType
 * `application/vnd.vpause.verdict+json`, whose payload is the JCS encoding of the verdict; the
 * signature covers PAE(payloadType, payload) exactly as for statements (protocol/src/dsse.ts), so
 * one Ed25519 rule checks both.
 *
 * Opening one is strict in the same way as parsing a log entry: the envelope must match its
 * schema, the payload must be canonical base64 of strict UTF-8 JSON without duplicate keys that
 * is its own JCS encoding and a valid verdict, and every signature naming a trusted key must
 * verify (at least one must). Pure: no I/O.
 */
import { signEnvelope, verifySignatures } from '../../protocol/src/dsse.js';
import { jcs } from '../../protocol/src/jcs.js';
import { parseJsonStrict } from '../../protocol/src/json.js';
import {
  type SignedVerdict,
  signedVerdictSchema,
  VERDICT_PAYLOAD_TYPE,
  type Verdict,
  verdictSchema,
} from '../../protocol/src/verdict.js';
import { fromBase64, utf8 } from '../core/bytes.js';
import type { SignerKey, VerifierKey } from '../note/keys.js';
import { VerifierError } from './errors.js';

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Deepest JSON nesting a verdict has (findings → data → figures), with room to spare. */
const MAX_VERDICT_DEPTH = 64;

/**
 * Signs a verdict with the verifier key.
 * @throws {VerifierError} VERDICT_INVALID when `verdict` does not match the verdict schema
 * @throws {StatementError} KEY_UNSUPPORTED when the key is not Ed25519
 */
export function signVerdict(verdict: Verdict, signer: SignerKey): SignedVerdict {
  const checked = verdictSchema.safeParse(verdict);
  if (!checked.success) {
    throw new VerifierError(
      'VERDICT_INVALID',
      `not a verdict: ${checked.error.issues[0]?.message}`,
    );
  }
  const env = signEnvelope(VERDICT_PAYLOAD_TYPE, utf8(jcs(checked.data)), signer);
  return { payloadType: VERDICT_PAYLOAD_TYPE, payload: env.payload, signatures: env.signatures };
}

export interface OpenedVerdict {
  verdict: Verdict;
  /** the trusted keys whose signatures verified, as vkeys */
  signedBy: string[];
}

function invalid(msg: string, cause?: unknown): VerifierError {
  return new VerifierError('VERDICT_INVALID', msg, cause === undefined ? undefined : { cause });
}

/**
 * Checks a signed verdict (a parsed JSON document) against trusted verifier keys. Signatures by
 * keys not among `keys` are ignored; one naming a trusted key that does not verify refuses the
 * whole envelope, as for statements.
 * @throws {VerifierError} VERDICT_INVALID (not a canonical signed verdict),
 *   VERDICT_SIGNATURE_INVALID (no trusted key signed it, or a trusted key's signature is bad)
 */
export function openSignedVerdict(doc: unknown, keys: readonly VerifierKey[]): OpenedVerdict {
  const env = signedVerdictSchema.safeParse(doc);
  if (!env.success) {
    const i = env.error.issues[0];
    throw invalid(`not a signed verdict: ${i?.path.join('.') || '(root)'}: ${i?.message}`);
  }
  const { payload, signatures } = env.data;
  const ids = new Set(signatures.map((s) => s.keyid));
  if (ids.size !== signatures.length) throw invalid('signed verdict repeats a keyid');
  let bytes: Uint8Array;
  let text: string;
  try {
    bytes = fromBase64(payload);
    text = utf8Strict.decode(bytes);
  } catch (e) {
    throw invalid('verdict payload is not base64 of UTF-8 text', e);
  }
  let json: unknown;
  try {
    json = parseJsonStrict(text, MAX_VERDICT_DEPTH);
  } catch (e) {
    throw invalid(`verdict payload is not JSON: ${(e as Error).message}`, e);
  }
  const v = verdictSchema.safeParse(json);
  if (!v.success) {
    const i = v.error.issues[0];
    throw invalid(
      `verdict payload is not a verdict: ${i?.path.join('.') || '(root)'}: ${i?.message}`,
    );
  }
  if (jcs(json) !== text) throw invalid('verdict payload is not its own JCS encoding');
  // The statements' rule (protocol/src/dsse.ts): signatures by untrusted keys are ignored, a
  // trusted key's signature must verify, and at least one must.
  let trusted: VerifierKey[];
  try {
    trusted = verifySignatures(VERDICT_PAYLOAD_TYPE, bytes, signatures, keys);
  } catch (e) {
    const why =
      (e as { code?: string }).code === 'KEYID_MISMATCH'
        ? `no signature by a trusted verifier key (signed by ${[...ids].join(', ')})`
        : (e as Error).message;
    throw new VerifierError('VERDICT_SIGNATURE_INVALID', why, { cause: e });
  }
  const signedBy = trusted.map((k) => k.vkey);
  return { verdict: v.data, signedBy };
}
