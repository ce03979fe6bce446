/**
 * RFC 8785 JSON Canonicalization Scheme (JCS), through the `canonicalize` library.
 *
 * The library serialises whatever JavaScript hands it (it drops `undefined` members, calls
 * `toJSON`, turns holes into `null`). vpause signs these bytes, so this wrapper first checks that
 * the value is plain JSON data and refuses anything else, instead of letting a value be silently
 * changed into different signed bytes.
 */
import canonicalize from 'canonicalize';
import { utf8 } from '../../src/core/bytes.js';
import { VPauseError } from '../../src/core/errors.js';

/** Error codes of this module. */
export type JcsErrorCode = 'JCS_INVALID_VALUE';

/** A JSON value as JCS accepts it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Deepest nesting of arrays and objects `jcs` accepts (a guard against stack exhaustion). */
export const JCS_MAX_DEPTH = 1000;

function fail(path: string, why: string): never {
  throw new VPauseError<JcsErrorCode>('JCS_INVALID_VALUE', `jcs: ${why} at ${path || '(root)'}`);
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (n < 0xdc00 || n > 0xdfff) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

function check(v: unknown, path: string, open: Set<object>, depth: number): void {
  switch (typeof v) {
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) fail(path, 'non-finite number');
      return;
    case 'string':
      if (hasLoneSurrogate(v)) fail(path, 'string with a lone surrogate');
      return;
    case 'object':
      break;
    default:
      fail(path, `unsupported ${typeof v}`);
  }
  if (v === null) return;
  if (depth >= JCS_MAX_DEPTH) fail(path, 'nesting too deep');
  if (open.has(v)) fail(path, 'circular reference');
  if (Array.isArray(v)) {
    open.add(v);
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) fail(`${path}[${i}]`, 'array hole');
      check(v[i], `${path}[${i}]`, open, depth + 1);
    }
    open.delete(v);
    return;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) fail(path, 'not a plain object');
  if (Object.getOwnPropertySymbols(v).length > 0) fail(path, 'symbol-keyed property');
  open.add(v);
  for (const [k, x] of Object.entries(v)) {
    if (hasLoneSurrogate(k)) fail(path, 'key with a lone surrogate');
    check(x, `${path}.${k}`, open, depth + 1);
  }
  open.delete(v);
}

/**
 * Asserts that `value` is plain JSON data that JCS can encode without changing it: null,
 * booleans, finite numbers, strings without lone surrogates, arrays without holes, and plain
 * objects (no `undefined`, functions, symbols, bigints, class instances, cycles).
 * @throws {VPauseError<JcsErrorCode>} JCS_INVALID_VALUE otherwise
 */
export function assertJsonValue(value: unknown): asserts value is JsonValue {
  check(value, '', new Set(), 0);
}

/**
 * The RFC 8785 canonical JSON text of `value`.
 * @throws {VPauseError<JcsErrorCode>} JCS_INVALID_VALUE when `value` is not plain JSON data
 */
export function jcs(value: unknown): string {
  assertJsonValue(value);
  const out = canonicalize(value);
  if (out === undefined) fail('', 'value has no JSON encoding');
  return out;
}

/**
 * The RFC 8785 canonical JSON encoding of `value`, as UTF-8 bytes.
 * @throws {VPauseError<JcsErrorCode>} JCS_INVALID_VALUE when `value` is not plain JSON data
 */
export function jcsBytes(value: unknown): Uint8Array {
  return utf8(jcs(value));
}
