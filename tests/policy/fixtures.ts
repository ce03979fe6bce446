/**
 * Deterministic test keys for the policy tests. Seeds are SHA-256("vpause policy test seed " +
 * label), so the same label gives the same public key under any name (which is how the duplicate
 * key cases are built).
 */
import { utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/crypto/sha256.js';
import { generateKey, KEY_TYPE_COSIGNATURE, KEY_TYPE_ED25519 } from '../../src/note/keys.js';

const cache = new Map<string, string>();

/** A vkey for `name`, of `type`, whose public key is determined by `seedLabel` (default: name). */
export function vkey(
  name: string,
  type: number = KEY_TYPE_ED25519,
  seedLabel: string = name,
): string {
  const k = `${name}\n${type}\n${seedLabel}`;
  let v = cache.get(k);
  if (v === undefined) {
    v = generateKey(name, type, () => sha256(utf8(`vpause policy test seed ${seedLabel}`))).vkey;
    cache.set(k, v);
  }
  return v;
}

/** A log key (Ed25519 note signatures, type 0x01). */
export function logKey(name: string, seedLabel?: string): string {
  return vkey(name, KEY_TYPE_ED25519, seedLabel ?? name);
}

/** A witness key (tlog-cosignature Ed25519, type 0x04). */
export function witnessKey(name: string, seedLabel?: string): string {
  return vkey(name, KEY_TYPE_COSIGNATURE, seedLabel ?? name);
}
