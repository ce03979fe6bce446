/**
 * The verifier's hot path over log entries: one pass over the raw bytes of an entry bundle that
 * hashes every leaf (and the subtree of a full tile), reads each envelope, checks the signatures
 * of the keys it is given (or lists the checks, as bytes another thread can make:
 * `runDeferring`), and decodes usage reports and meter readings straight into columns (typed
 * arrays, strings interned in a small table): no object per statement is made here.
 *
 * Strictness. A usage report or meter reading is packed only when its bytes are exactly
 *
 *   {"payload":"<canonical base64>","payloadType":"<usage|meter type>",
 *    "signatures":[{"keyid":"<keyid>","sig":"<canonical base64 of 64 bytes>"}]}
 *
 * (no whitespace, nothing else) and its payload decodes to exactly the JCS text of an object with
 * the members of its schema, in sorted order, each value in its canonical form: strings of
 * printable ASCII without escapes, numbers as JSON.stringify writes them, `"v":1`. Such a text is
 * its own JCS encoding, so `decodeEntry` (./decode.ts, and `parseEntry` behind it) accepts it; the
 * schema rules (`validUsage`, `validMeter` there) are checked here on the bytes, with the same
 * answers; and JSON.parse of the payload text gives the very payload `decodeEntry` gives. Every
 * other entry (the other statement kinds, several signatures, an escape, a doubt of any kind) is
 * left raw: the main thread decodes it with `decodeEntry`, whose answer, or error code, is then
 * the answer. tests/verifier/packed.test.ts holds the two paths to the same records
 * on generated and mutated entries.
 *
 * Signatures. For every entry whose envelope reads as above (whatever its payload type and number
 * of signatures), each signature naming a key of the ring is checked as `checkSignature` checks
 * it (`verifyEd25519`, Go crypto/ed25519 rules, over the PAE): the outcomes `decodeRun` computes.
 * They travel with the entry, and an entry that then does not decode discards them. Registration
 * keys are offered to the ring as they are seen (any registration-typed payload with a `key`).
 * The verifier's ring takes them: computing outcomes for a key that turns out not to matter is
 * harmless, and the evaluation decides which keys count. The log's preparation
 * (../log/prepare-batch.ts, with the `admission` option) reads submissions with the same packer
 * and takes node keys only once their registration is logged.
 *
 * This module imports neither zod nor the protocol schemas (the log's preparation workers start
 * faster without them): the schema constants it needs come in a `PackRules` (`packRules()` in ./pack-rules.ts
 * builds it from protocol/src/schemas.ts). Pure: no I/O.
 */
import { pae, paeTypeHeader } from '../../protocol/src/dsse.js';
import { formatTime } from '../../protocol/src/time.js';
import { decodeBase64Into, tryFromBase64 } from '../core/bytes.js';
import { ed25519Verifier, verifyEd25519 } from '../crypto/ed25519.js';
import { sha256Into } from '../crypto/sha256.js';
import { hashChildrenAtInto, hashLeafInPlaceInto, hashLeafInto } from '../merkle/rfc9162.js';
import { parseEntryBundle, TILE_WIDTH } from '../merkle/tiles.js';
import { KeysById, type VerifierKey } from '../note/keys.js';
import { BufferPool } from '../util/buffer-pool.js';
import type { DeferredChecks, Verify } from './deferred-checks.js';

/** The schema constants the packer applies (from protocol/src/schemas.ts). */
export interface PackRules {
  usageType: string;
  meterType: string;
  registrationType: string;
  idPattern: string;
  labPattern: string;
  keyidPattern: string;
  workloads: readonly string[];
  maxEntryBytes: number;
}

/**
 * The keys whose signatures the packer checks, by keyid; `add` is offered each registration's
 * key (a ring that does not want them answers false).
 */
export interface PackerRing {
  get(keyid: string): readonly VerifierKey[] | undefined;
  add(vkey: string): boolean;
  /**
   * A number that changes whenever `get` may answer differently: the packer remembers each
   * keyid's keys (by string-table index) until it changes.
   */
  readonly generation: number;
}

/** The Ed25519 statement keys a keyid names: their key numbers and their vkeys' table indexes. */
interface KeyidKeys {
  nos: number[];
  vixs: number[];
}

/**
 * `admission`: pack only what the log's admission reads (kind, keyid, signature outcomes, the
 * chain's names and seq, leaf hashes): no payload hashes, `prev`, `bodyHash`, `samples.root`,
 * node paths or subtree, which only the verifier uses (those columns are then left zero or
 * empty, and `packedPayloadText` cannot rebuild the payload).
 */
export interface PackerOptions {
  admission?: boolean;
  /**
   * The message and signature buffers of deferred checks over SharedArrayBuffers, for a pool
   * whose threads may each read them (./ingest.ts).
   */
  sharedChecks?: boolean;
}

/** A run of consecutive entries: listed, or the part [skip, skip + count) of an entry bundle. */
export type IngestInput =
  | { start: number; entries: readonly Uint8Array[] }
  | { start: number; bundle: Uint8Array; width: number; skip: number; count: number };

/** What the packer makes of an entry. */
export const KIND_RAW = 0;
export const KIND_USAGE = 1;
export const KIND_METER = 2;

/**
 * Numbers per packed entry in `num`: start and end (POSIX seconds), seq, energyJ, flop|counterJ;
 * then, for a usage report, gpuSeconds, gpus, samples.count and tensorActive (0 for a meter).
 */
export const NUM_WIDTH = 9;
/**
 * Bytes per packed entry in `hashes`: the SHA-256 of the payload and `prev`; then, for a usage
 * report, `bodyHash` and `samples.root` (zeros for a meter).
 */
export const HASH_WIDTH = 128;
/**
 * String-table indexes per packed entry in `str`: usage lab, facility, cluster, node,
 * `facility/cluster/node`, workload; meter facility, meter (the rest 0).
 */
export const STR_WIDTH = 6;

/** A run of entries, packed into columns. */
export interface PackedRun {
  start: number;
  count: number;
  /** leaf hashes, 32 bytes each */
  leaf: Uint8Array;
  /**
   * The root over the 256 leaves, when the run is one full tile aligned on 256. `subtree` and
   * `raw` are always present, undefined or not, so that every run has one shape (a second one
   * deoptimises the code that reads runs and their records).
   */
  subtree: Uint8Array | undefined;
  /** KIND_* per entry */
  kind: Uint8Array;
  /** packed entries: HASH_WIDTH bytes each (payload hash, prev, bodyHash, samples.root) */
  hashes: Uint8Array;
  /** packed entries: NUM_WIDTH numbers each */
  num: Float64Array;
  /** packed entries: STR_WIDTH indexes into `strings` each */
  str: Uint32Array;
  /** packed entries: the one signature, its keyid (index into `strings`) and its 64 bytes */
  keyid: Uint32Array;
  sig: Uint8Array;
  /**
   * signature outcomes computed ahead: entry i has those at [outAt[i], outAt[i + 1]), each the
   * vkey (index into `strings`) and 1 for valid, 0 for invalid
   */
  outAt: Uint32Array;
  outKey: Uint32Array;
  outValid: Uint8Array;
  /** raw entries: entry i is raw[rawAt[2i], rawAt[2i + 1]) */
  raw: Uint8Array | undefined;
  rawAt: Uint32Array;
  /**
   * The packer's string table grows from run to run: `strings` holds the strings it gained in
   * this run, which take the indexes from `stringBase` on (0: a new table, the old one dropped).
   * The receiver keeps the table (`StringTable`); after `unpackRun`, `strings` is the whole of it.
   */
  strings: string[];
  stringBase: number;
  /** registration keys found in the run (added to the ring) */
  newKeys: string[];
}

export { applyOutcomes, type DeferredChecks } from './deferred-checks.js';

// ---------------------------------------------------------------------------------------------
// Times, PAE and signature checks (shared with ./decode.ts)

const DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian civil date. */
function daysFromCivil(y0: number, m: number, d: number): number {
  const y = y0 - (m <= 2 ? 1 : 0);
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Is (y, mo, d, h, mi, se) a real Gregorian date and time of day (the rules of `isTimeFast`)? */
function validTime(y: number, mo: number, d: number, h: number, mi: number, se: number): boolean {
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    se < 0 ||
    se > 59
  ) {
    return false;
  }
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (mo === 2 && leap ? 29 : DAYS[mo]!);
}

/**
 * `isTime` (protocol/src/time.ts) without its long regular expression: `YYYY-MM-DDTHH:MM:SSZ`
 * naming a real Gregorian date, hours 00–23, minutes and seconds 00–59. The two are held equal by
 * tests/verifier-checks/checks-decode.test.ts.
 */
export function isTimeFast(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 20) return false;
  if (
    v[4] !== '-' ||
    v[7] !== '-' ||
    v[10] !== 'T' ||
    v[13] !== ':' ||
    v[16] !== ':' ||
    v[19] !== 'Z'
  ) {
    return false;
  }
  return validTime(
    digits(v, 0, 4),
    digits(v, 5, 2),
    digits(v, 8, 2),
    digits(v, 11, 2),
    digits(v, 14, 2),
    digits(v, 17, 2),
  );
}

/**
 * A vpause time (already validated) as POSIX seconds: from its digits (days from the civil date,
 * proleptic Gregorian), which costs far less than `Date.parse`; anything not shaped
 * `YYYY-MM-DDTHH:MM:SSZ` goes to `Date.parse`.
 */
export function seconds(time: string): number {
  if (!isTimeFast(time)) return Date.parse(time) / 1000;
  const days = daysFromCivil(digits(time, 0, 4), digits(time, 5, 2), digits(time, 8, 2));
  return (
    days * 86_400 + digits(time, 11, 2) * 3600 + digits(time, 14, 2) * 60 + digits(time, 17, 2)
  );
}

/** The last signature text decoded, and its bytes. */
let lastSig: { text: string; bytes: Uint8Array | undefined } = { text: '', bytes: undefined };

/** `tryFromBase64` of a signature, reusing the last answer for the same text. */
export function sigBytes(s: string): Uint8Array | undefined {
  if (lastSig.text !== s) lastSig = { text: s, bytes: tryFromBase64(s) };
  return lastSig.bytes;
}

/** The outcome of checking one key's signature on a statement (protocol/SPEC.md rule 18). */
export type SignatureOutcome = 'valid' | 'invalid' | 'absent';

/**
 * Checks the signature that names `key` (its keyid is `<name>+<hex key ID>`): `absent` when no
 * signature names it or the key is not an Ed25519 statement key, `invalid` when the one that
 * does is not canonical base64 of 64 bytes or does not verify, `valid` otherwise.
 */
export function checkSignature(
  d: {
    payloadType: string;
    payloadBytes: Uint8Array;
    signatures: readonly { keyid: string; sig: string }[];
  },
  key: VerifierKey,
  keyid: string,
): SignatureOutcome {
  if (key.type !== 0x01) return 'absent';
  const s = d.signatures.find((x) => x.keyid === keyid);
  if (s === undefined) return 'absent';
  const sig = sigBytes(s.sig);
  if (sig === undefined) return 'invalid';
  return verifyEd25519(key.publicKey, pae(d.payloadType, d.payloadBytes), sig)
    ? 'valid'
    : 'invalid';
}

// ---------------------------------------------------------------------------------------------
// Keys and hashes

/** The keys to compute outcomes for ahead, by keyid. */
export { KeysById as KeyRing };

/**
 * The RFC 9162 root over 2^k packed leaf hashes (`leaf` holds 32·2^k bytes): the root of a
 * full aligned tile, without an array of hashes per level.
 */
export function perfectRoot(leaf: Uint8Array): Uint8Array {
  let n = leaf.length / 32;
  const level = leaf.slice();
  while (n > 1) {
    for (let i = 0; i < n; i += 2) hashChildrenAtInto(level, i * 32, level, i * 16);
    n /= 2;
  }
  return level.slice(0, 32);
}

/** The 32 bytes at b[at…) as lowercase hex (a hash in a column). */
export function hexAt(b: Uint8Array, at: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, 32).toString('hex');
}

/**
 * The payload text of packed entry i of a run, rebuilt from its columns. A usage report or meter
 * reading is packed only when its payload is exactly its own JCS text (strings of printable ASCII
 * without escapes, numbers as `String` writes them, times as `formatTime` writes them, lowercase
 * hex), so this is the very text that was signed, byte for byte (tests/verifier/packed.test.ts
 * holds the two equal), and the run need not keep a copy of every payload: ~600 bytes a report,
 * against the 96 bytes of columns that rebuild it. Not for a run packed with `admission`.
 */
export function packedPayloadText(run: PackedRun, i: number): string {
  const n = NUM_WIDTH * i;
  const x = STR_WIDTH * i;
  const h = HASH_WIDTH * i;
  const num = run.num;
  const str = (k: number) => run.strings[run.str[x + k]!]!;
  if (run.kind[i] === KIND_USAGE) {
    return (
      `{"bodyHash":"${hexAt(run.hashes, h + 64)}","cluster":"${str(2)}","end":"${formatTime(num[n + 1]!)}",` +
      `"energyJ":${num[n + 3]},"facility":"${str(1)}","flop":${num[n + 4]},"gpuSeconds":${num[n + 5]},` +
      `"gpus":${num[n + 6]},"lab":"${str(0)}","node":"${str(3)}","prev":"${hexAt(run.hashes, h + 32)}",` +
      `"samples":{"count":${num[n + 7]},"root":"${hexAt(run.hashes, h + 96)}"},"seq":${num[n + 2]},` +
      `"start":"${formatTime(num[n]!)}","tensorActive":${num[n + 8]},"v":1,"workload":"${str(5)}"}`
    );
  }
  if (run.kind[i] === KIND_METER) {
    return (
      `{"counterJ":${num[n + 4]},"end":"${formatTime(num[n + 1]!)}","energyJ":${num[n + 3]},` +
      `"facility":"${str(0)}","meter":"${str(1)}","prev":"${hexAt(run.hashes, h + 32)}",` +
      `"seq":${num[n + 2]},"start":"${formatTime(num[n]!)}","v":1}`
    );
  }
  throw new TypeError(`packedPayloadText: entry ${i} of the run is not packed`);
}

// ---------------------------------------------------------------------------------------------
// Reading bytes

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function ascii(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

const ENV_PAYLOAD = ascii('{"payload":"');
const ENV_TYPE = ascii('","payloadType":"');
const ENV_SIGS = ascii('","signatures":[');
const ENV_KEYID = ascii('{"keyid":"');
const ENV_SIG = ascii('","sig":"');

/** The literals between the members of a usage payload, in order (sorted member names). */
const U = {
  bodyHash: ascii('{"bodyHash":"'),
  cluster: ascii('","cluster":"'),
  end: ascii('","end":"'),
  energyJ: ascii('","energyJ":'),
  facility: ascii(',"facility":"'),
  flop: ascii('","flop":'),
  gpuSeconds: ascii(',"gpuSeconds":'),
  gpus: ascii(',"gpus":'),
  lab: ascii(',"lab":"'),
  node: ascii('","node":"'),
  prev: ascii('","prev":"'),
  count: ascii('","samples":{"count":'),
  root: ascii(',"root":"'),
  seq: ascii('"},"seq":'),
  start: ascii(',"start":"'),
  tensorActive: ascii('","tensorActive":'),
  workload: ascii(',"v":1,"workload":"'),
  close: ascii('"}'),
};
/** The same for a meter reading. */
const M = {
  counterJ: ascii('{"counterJ":'),
  end: ascii(',"end":"'),
  energyJ: ascii('","energyJ":'),
  facility: ascii(',"facility":"'),
  meter: ascii('","meter":"'),
  prev: ascii('","prev":"'),
  seq: ascii('","seq":'),
  start: ascii(',"start":"'),
  close: ascii('","v":1}'),
};

/** Does `b` hold `lit` at `at`? */
function has(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > b.length) return false;
  for (let i = 0; i < lit.length; i++) if (b[at + i] !== lit[i]) return false;
  return true;
}

/**
 * The end of a JSON string's text starting at `at` (the index of its closing quote), when every
 * byte before it is printable ASCII other than a backslash; -1 otherwise (or no quote before `to`).
 */
function plainString(b: Uint8Array, at: number, to: number): number {
  for (let i = at; i < to; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

/** The value of each lowercase hex digit, 16 for every other byte. */
const HEX = new Uint8Array(256).fill(16);
for (let c = 0; c < 16; c++) HEX[c < 10 ? 0x30 + c : 0x57 + c] = c;

/** 64 lowercase hex digits at `at` followed by a quote. */
function isHexHash(b: Uint8Array, at: number): boolean {
  if (at + 64 >= b.length || b[at + 64] !== QUOTE) return false;
  let bad = 0;
  for (let i = at; i < at + 64; i++) bad |= HEX[b[i]!]!;
  return (bad & 16) === 0;
}

/** The 32 bytes of the 64 lowercase hex digits at b[at…) (`isHexHash`), into out[o…o+32). */
function hexInto(b: Uint8Array, at: number, out: Uint8Array, o: number): void {
  for (let k = 0; k < 32; k++) out[o + k] = (HEX[b[at + 2 * k]!]! << 4) | HEX[b[at + 2 * k + 1]!]!;
}

function dig(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * A vpause time (`isTimeFast`) at `at`, 20 bytes then a quote, as POSIX seconds (`seconds`); NaN
 * when it is not one.
 */
function timeAt(b: Uint8Array, at: number): number {
  if (
    at + 20 >= b.length ||
    b[at + 20] !== QUOTE ||
    b[at + 4] !== 0x2d ||
    b[at + 7] !== 0x2d ||
    b[at + 10] !== 0x54 ||
    b[at + 13] !== 0x3a ||
    b[at + 16] !== 0x3a ||
    b[at + 19] !== 0x5a
  ) {
    return Number.NaN;
  }
  const y = dig(b, at, 4);
  const mo = dig(b, at + 5, 2);
  const d = dig(b, at + 8, 2);
  const h = dig(b, at + 11, 2);
  const mi = dig(b, at + 14, 2);
  const se = dig(b, at + 17, 2);
  if (!validTime(y, mo, d, h, mi, se)) return Number.NaN;
  return daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se;
}

// ---------------------------------------------------------------------------------------------
// The packer

/** Strings the packer's table holds before it starts a new one. */
const MAX_STRINGS = 200_000;

/** Bits of `Packer.checked`: a string-table entry passed, or failed, a pattern. */
const OK_ID = 1;
const BAD_ID = 2;
const OK_LAB = 4;
const BAD_LAB = 8;
const OK_KEYID = 16;
const BAD_KEYID = 32;
const OK_WORKLOAD = 64;
const BAD_WORKLOAD = 128;

/** Grows a typed array (the packer's output buffers), keeping its first `keep` elements. */
function grow<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(
  a: T,
  need: number,
  keep = 0,
): T {
  if (a.length >= need) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  if (keep > 0) b.set(a.subarray(0, keep));
  return b;
}

/**
 * Decodes and checks runs of entries into `PackedRun`s. One per thread.
 *
 * A run is read in two passes: the first reads every entry (envelope, payload decoded after its
 * PAE header in an arena, columns) and lists the signature checks to make; the second makes them
 * all, back to back (Ed25519 verification runs faster without other work between the calls).
 */
export class Packer {
  readonly ring: PackerRing;
  /** the verifier's columns too (not `admission`) */
  private readonly full: boolean;
  private readonly idRe: RegExp;
  private readonly labRe: RegExp;
  private readonly keyidRe: RegExp;
  private readonly workloads: ReadonlySet<string>;
  private readonly workloadRule = { test: (s: string) => this.workloads.has(s) };
  private readonly usageType: Uint8Array;
  private readonly meterType: Uint8Array;
  private readonly registrationType: Uint8Array;
  /** per string-table index: which patterns it passed or failed (the OK_* and BAD_* bits) */
  private checked = new Uint8Array(1024);
  /** string-table indexes by a hash of their bytes (`internAt`), and the next of the same hash */
  private byBytes = new Map<number, number>();
  private sameHash: number[] = [];
  /** `facility/cluster/node` by the indexes of its parts */
  private nodePaths = new Map<number, number>();
  /** the ring's keys by keyid string-table index (null: none), while its generation is `ringGen` */
  private keyidKeys: (KeyidKeys | null | undefined)[] = [];
  private ringGen = -1;
  /** the number of each key checked so far, by vkey */
  private readonly keyNo = new Map<string, number>();
  /** by key number: the public key, and its verifier (the KeyObject made once) */
  readonly publicKeys: Uint8Array[] = [];
  readonly verifiers: Verify[] = [];

  /** PAE(type, payload) of each entry, the payload decoded in place */
  private arena = Buffer.alloc(256 * 1024);
  private arenaLen = 0;
  /** the signatures of the run, decoded: 64 bytes each, at the offsets `sigAt` gives */
  private sigArena = new Uint8Array(64 * 512);
  /** buffers of deferred checks, given back by `recycle` */
  private readonly scratch: BufferPool;
  private sigLen = 0;
  /**
   * the signature checks of the run: verifier, signature at sigArena[jobSig[j]…+64) (-1: not a
   * canonical 64-byte signature), PAE at arena[msgAt[2j], msgAt[2j + 1]), outcome slot
   */
  private jobKeyNo = new Uint32Array(512);
  private jobSig = new Int32Array(512);
  private jobMsg = new Uint32Array(1024);
  private jobSlot = new Uint32Array(512);
  private jobEntry = new Uint32Array(512);
  private jobs = 0;
  /** the entry being read */
  private current = 0;
  /** the signatures of the entry being read: keyid start, end, sig start, end */
  private sigs = new Int32Array(64);
  /** their keyids' string-table indexes */
  private sigKeyids = new Int32Array(16);
  /** where the last number or string read ended */
  private end = 0;

  /** the string table, kept from run to run (each run sends what it added) */
  private strings: string[] = [];
  private stringIx = new Map<string, number>();
  private stringsSent = 0;

  // the run being packed
  private kind = new Uint8Array(0);
  private hashes = new Uint8Array(0);
  private num = new Float64Array(0);
  private str = new Uint32Array(0);
  private keyid = new Uint32Array(0);
  private sig = new Uint8Array(0);
  private outAt = new Uint32Array(0);
  private outKey = new Uint32Array(0);
  private outValid = new Uint8Array(0);
  private outLen = 0;

  constructor(
    private readonly rules: PackRules,
    keys: readonly string[] | PackerRing = [],
    options: PackerOptions = {},
  ) {
    this.full = options.admission !== true;
    this.scratch = new BufferPool(16, 16 * 1024, undefined, options.sharedChecks === true);
    this.ring = Array.isArray(keys) ? new KeysById(keys) : (keys as PackerRing);
    this.idRe = new RegExp(rules.idPattern);
    this.labRe = new RegExp(rules.labPattern);
    this.keyidRe = new RegExp(rules.keyidPattern);
    this.workloads = new Set(rules.workloads);
    this.usageType = ascii(rules.usageType);
    this.meterType = ascii(rules.meterType);
    this.registrationType = ascii(rules.registrationType);
  }

  /**
   * Packs a run of entries.
   * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED for a bundle that does not parse
   */
  run(input: IngestInput): PackedRun {
    return this.pack(input, false).run;
  }

  /**
   * Packs a run of entries, leaving the signature checks of its packed entries (usage reports and
   * meter readings: nearly all of a log) for later: their outcomes read as valid in the run until
   * the caller runs the checks (`checkAll` here, or a thread given the bytes and `keyNos`:
   * ./verify-thread.ts) and writes the outcomes in (`applyOutcomes`). The checks of raw
   * entries, and of signatures that are not canonical base64 of 64 bytes (invalid without a
   * check), are made here as `run` makes them.
   * @throws {MerkleError} ENTRY_BUNDLE_MALFORMED for a bundle that does not parse
   */
  runDeferring(input: IngestInput): { run: PackedRun; deferred?: DeferredChecks } {
    return this.pack(input, true);
  }

  /**
   * Takes back the buffers of deferred checks once they are run (they are reused by later runs:
   * the caller must not use `d` afterwards).
   */
  recycle(d: DeferredChecks): void {
    this.scratch.give(d.msgs);
    this.scratch.give(d.sigs);
  }

  private pack(input: IngestInput, defer: boolean): { run: PackedRun; deferred?: DeferredChecks } {
    let entries: readonly Uint8Array[];
    let src: Buffer | undefined;
    if ('entries' in input) {
      entries = input.entries.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    } else {
      src = Buffer.from(input.bundle.buffer, input.bundle.byteOffset, input.bundle.byteLength);
      entries = parseEntryBundle(src, input.width, { views: true }).slice(
        input.skip,
        input.skip + input.count,
      );
    }
    const n = entries.length;
    this.begin(n);
    const leaf = new Uint8Array(n * 32);
    const rawAt = new Uint32Array(2 * n);
    const newKeys: string[] = [];
    let rawEntries: Uint8Array[] | undefined;
    let rawLen = 0;
    let anyRaw = false;
    for (let i = 0; i < n; i++) {
      const e = entries[i] as Buffer;
      if (src !== undefined) {
        // The leaf hash over the bundle's own bytes (the byte before the entry is borrowed).
        const o = e.byteOffset - src.byteOffset;
        hashLeafInPlaceInto(src, o, o + e.length, leaf, i * 32);
      } else {
        hashLeafInto(e, leaf, i * 32);
      }
      this.outAt[i] = this.outLen;
      this.current = i;
      if (this.entry(i, e, newKeys)) continue;
      this.kind[i] = KIND_RAW;
      anyRaw = true;
      if (src !== undefined) {
        rawAt[2 * i] = e.byteOffset - src.byteOffset;
        rawAt[2 * i + 1] = e.byteOffset - src.byteOffset + e.length;
      } else {
        rawEntries ??= [];
        rawEntries.push(e);
        rawAt[2 * i] = rawLen;
        rawAt[2 * i + 1] = rawLen + e.length;
        rawLen += e.length;
      }
    }
    this.outAt[n] = this.outLen;
    // The signature checks, back to back (or, deferred, listed).
    const arena = this.arena;
    const sigArena = this.sigArena;
    let later: number[] | undefined;
    let laterBytes = 0;
    for (let j = 0; j < this.jobs; j++) {
      const at = this.jobSig[j]!;
      if (at < 0) continue;
      if (defer && this.kind[this.jobEntry[j]!] !== KIND_RAW) {
        later ??= [];
        later.push(j);
        laterBytes += this.jobMsg[2 * j + 1]! - this.jobMsg[2 * j]!;
        this.outValid[this.jobSlot[j]!] = 1;
        continue;
      }
      const msg = arena.subarray(this.jobMsg[2 * j]!, this.jobMsg[2 * j + 1]!);
      this.outValid[this.jobSlot[j]!] = this.verifiers[this.jobKeyNo[j]!]!(
        msg,
        sigArena.subarray(at, at + 64),
      )
        ? 1
        : 0;
    }
    let deferred: DeferredChecks | undefined;
    if (later !== undefined) {
      const k = later.length;
      deferred = {
        msgs: this.scratch.take(laterBytes),
        msgAt: new Uint32Array(2 * k),
        sigs: this.scratch.take(64 * k),
        keyNos: new Uint32Array(k),
        slots: new Uint32Array(k),
        entries: new Uint32Array(k),
      };
      let o = 0;
      for (let x = 0; x < k; x++) {
        const j = later[x]!;
        const m0 = this.jobMsg[2 * j]!;
        const m1 = this.jobMsg[2 * j + 1]!;
        deferred.msgs.set(arena.subarray(m0, m1), o);
        deferred.msgAt[2 * x] = o;
        o += m1 - m0;
        deferred.msgAt[2 * x + 1] = o;
        const at = this.jobSig[j]!;
        deferred.sigs.set(sigArena.subarray(at, at + 64), 64 * x);
        deferred.keyNos[x] = this.jobKeyNo[j]!;
        deferred.slots[x] = this.jobSlot[j]!;
        deferred.entries[x] = this.jobEntry[j]!;
      }
    }
    let raw: Uint8Array | undefined;
    if (rawEntries !== undefined) {
      raw = new Uint8Array(rawLen);
      let o = 0;
      for (const e of rawEntries) {
        raw.set(e, o);
        o += e.length;
      }
    } else if (anyRaw && src !== undefined) {
      raw = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    }
    const out: PackedRun = {
      start: input.start,
      count: n,
      leaf,
      subtree:
        this.full && input.start % TILE_WIDTH === 0 && n === TILE_WIDTH
          ? perfectRoot(leaf)
          : undefined,
      kind: this.kind.slice(0, n),
      hashes: this.hashes.slice(0, HASH_WIDTH * n),
      num: this.num.slice(0, NUM_WIDTH * n),
      str: this.str.slice(0, STR_WIDTH * n),
      keyid: this.keyid.slice(0, n),
      sig: this.sig.slice(0, 64 * n),
      outAt: this.outAt.slice(0, n + 1),
      outKey: this.outKey.slice(0, this.outLen),
      outValid: this.outValid.slice(0, this.outLen),
      raw,
      rawAt,
      strings: this.strings.slice(this.stringsSent),
      stringBase: this.stringsSent,
      newKeys,
    };
    return deferred === undefined ? { run: out } : { run: out, deferred };
  }

  private begin(n: number): void {
    if (this.strings.length > MAX_STRINGS) {
      this.strings = [];
      this.stringIx = new Map();
      this.checked.fill(0);
      this.byBytes = new Map();
      this.sameHash = [];
      this.nodePaths = new Map();
      this.keyidKeys = [];
    }
    this.stringsSent = this.strings.length;
    this.kind = grow(this.kind, n);
    this.kind.fill(0, 0, n);
    this.hashes = grow(this.hashes, HASH_WIDTH * n);
    this.hashes.fill(0, 0, HASH_WIDTH * n);
    this.num = grow(this.num, NUM_WIDTH * n);
    this.num.fill(0, 0, NUM_WIDTH * n);
    this.str = grow(this.str, STR_WIDTH * n);
    this.str.fill(0, 0, STR_WIDTH * n);
    this.keyid = grow(this.keyid, n);
    this.keyid.fill(0, 0, n);
    this.sig = grow(this.sig, 64 * n);
    this.sig.fill(0, 0, 64 * n);
    this.outAt = grow(this.outAt, n + 1);
    this.outLen = 0;
    this.arenaLen = 0;
    this.sigLen = 0;
    this.jobs = 0;
  }

  /** The string at index `ix` of the table (valid until the next run). */
  stringOf(ix: number): string {
    return this.strings[ix]!;
  }

  /** The index of `s` in the run's string table. */
  private intern(s: string): number {
    let i = this.stringIx.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIx.set(s, i);
    }
    return i;
  }

  /**
   * The string-table index of the ASCII text b[from, to), found by its bytes: no string is made
   * for a text the table already holds.
   */
  private internAt(b: Buffer, from: number, to: number): number {
    const n = to - from;
    let h = 0x811c9dc5 ^ n;
    for (let k = from; k < to; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
    let ix = this.byBytes.get(h);
    while (ix !== undefined && ix >= 0) {
      const s = this.strings[ix]!;
      if (s.length === n) {
        let k = 0;
        while (k < n && s.charCodeAt(k) === b[from + k]) k++;
        if (k === n) return ix;
      }
      ix = this.sameHash[ix];
    }
    const i = this.intern(b.toString('latin1', from, to));
    this.sameHash[i] = this.byBytes.get(h) ?? -1;
    this.byBytes.set(h, i);
    return i;
  }

  /**
   * Does string-table entry `ix` pass `rule` (a pattern, or the workload set)? Each answer is
   * computed once (bits `ok`, `bad`).
   */
  private passes(rule: { test(s: string): boolean }, ok: number, bad: number, ix: number): boolean {
    if (ix >= this.checked.length) this.checked = grow(this.checked, ix + 1, this.checked.length);
    const c = this.checked[ix]!;
    if (c & ok) return true;
    if (c & bad) return false;
    const pass = rule.test(this.strings[ix]!);
    this.checked[ix] = c | (pass ? ok : bad);
    return pass;
  }

  /**
   * The signature text e[s0, s1) decoded into the run's signature arena when it is canonical
   * base64 of exactly 64 bytes: its offset there; else -1 (a signature that cannot verify).
   */
  private sigAt(e: Uint8Array, s0: number, s1: number): number {
    if (s1 - s0 !== 88) return -1;
    this.sigArena = grow(this.sigArena, this.sigLen + 66, this.sigLen);
    if (decodeBase64Into(e, s0, s1, this.sigArena, this.sigLen) !== 64) return -1;
    this.sigLen += 64;
    return this.sigLen - 64;
  }

  /**
   * The Ed25519 statement keys of the ring that keyid `kix` (a string-table index) names, or
   * undefined; remembered while the ring's generation stands (and the string table lasts).
   */
  private keysOf(kix: number): KeyidKeys | undefined {
    const gen = this.ring.generation;
    if (gen !== this.ringGen) {
      this.keyidKeys = [];
      this.ringGen = gen;
    }
    let k = this.keyidKeys[kix];
    if (k === undefined) {
      k = this.lookUpKeys(kix) ?? null;
      this.keyidKeys[kix] = k;
    }
    return k ?? undefined;
  }

  private lookUpKeys(kix: number): KeyidKeys | undefined {
    const all = this.ring.get(this.strings[kix]!);
    if (all === undefined) return undefined;
    const out: KeyidKeys = { nos: [], vixs: [] };
    for (const key of all) {
      if (key.type !== 0x01) continue;
      let no = this.keyNo.get(key.vkey);
      if (no === undefined) {
        no = this.verifiers.length;
        this.keyNo.set(key.vkey, no);
        this.publicKeys.push(key.publicKey);
        this.verifiers.push(ed25519Verifier(key.publicKey));
      }
      out.nos.push(no);
      out.vixs.push(this.intern(key.vkey));
    }
    return out;
  }

  /**
   * Lists the check of the signature at sigArena[sig…+64) (-1: none that can verify) by key
   * number `no` (its vkey at string-table index `vix`) over arena[m0, m1), its outcome in a new
   * slot.
   */
  private check(no: number, vix: number, sig: number, m0: number, m1: number) {
    this.outKey = grow(this.outKey, this.outLen + 1, this.outLen);
    this.outValid = grow(this.outValid, this.outLen + 1, this.outLen);
    this.outKey[this.outLen] = vix;
    this.outValid[this.outLen] = 0;
    const j = this.jobs++;
    this.jobKeyNo = grow(this.jobKeyNo, j + 1, j);
    this.jobKeyNo[j] = no;
    this.jobSig = grow(this.jobSig, j + 1, j);
    this.jobSig[j] = sig;
    this.jobMsg = grow(this.jobMsg, 2 * j + 2, 2 * j);
    this.jobSlot = grow(this.jobSlot, j + 1, j);
    this.jobEntry = grow(this.jobEntry, j + 1, j);
    this.jobEntry[j] = this.current;
    this.jobMsg[2 * j] = m0;
    this.jobMsg[2 * j + 1] = m1;
    this.jobSlot[j] = this.outLen;
    this.outLen++;
  }

  /**
   * Entry i: its signature checks, and its columns when it packs. False when it stays raw.
   */
  private entry(i: number, e: Buffer, newKeys: string[]): boolean {
    if (e.length === 0 || e.length > this.rules.maxEntryBytes) return false;
    // The envelope, exactly in its JCS form.
    if (!has(e, 0, ENV_PAYLOAD)) return false;
    const p0 = ENV_PAYLOAD.length;
    const p1 = e.indexOf(QUOTE, p0);
    if (p1 < 0 || !has(e, p1, ENV_TYPE)) return false;
    const t0 = p1 + ENV_TYPE.length;
    const t1 = plainString(e, t0, e.length);
    if (t1 < 0 || !has(e, t1, ENV_SIGS)) return false;
    // Filled by index, not pushed: an array emptied by `length = 0` gives up its storage, and
    // growing it again was ~300 bytes of garbage an entry.
    let sigs = this.sigs;
    let nSig = 0;
    let at = t1 + ENV_SIGS.length;
    for (;;) {
      if (!has(e, at, ENV_KEYID)) return false;
      const k0 = at + ENV_KEYID.length;
      const k1 = plainString(e, k0, e.length);
      if (k1 < 0 || !has(e, k1, ENV_SIG)) return false;
      const s0 = k1 + ENV_SIG.length;
      const s1 = e.indexOf(QUOTE, s0);
      if (s1 < 0 || e[s1 + 1] !== 0x7d /* } */) return false;
      if (sigs.length < 4 * nSig + 4) {
        sigs = grow(sigs, 4 * nSig + 4, 4 * nSig);
        this.sigs = sigs;
      }
      sigs[4 * nSig] = k0;
      sigs[4 * nSig + 1] = k1;
      sigs[4 * nSig + 2] = s0;
      sigs[4 * nSig + 3] = s1;
      nSig++;
      at = s1 + 2;
      if (e[at] === 0x2c /* , */) {
        at++;
        continue;
      }
      break;
    }
    if (at !== e.length - 2 || e[at] !== 0x5d || e[at + 1] !== 0x7d) return false;
    // The payload, decoded in place after its PAE header (canonical base64 only).
    const b64len = p1 - p0;
    if (b64len % 4 !== 0) return false;
    const pad = b64len === 0 ? 0 : (e[p1 - 1] === 0x3d ? 1 : 0) + (e[p1 - 2] === 0x3d ? 1 : 0);
    const len = (b64len / 4) * 3 - pad;
    let type: string;
    let kind = KIND_RAW;
    if (t1 - t0 === this.usageType.length && has(e, t0, this.usageType)) {
      kind = KIND_USAGE;
      type = this.rules.usageType;
    } else if (t1 - t0 === this.meterType.length && has(e, t0, this.meterType)) {
      kind = KIND_METER;
      type = this.rules.meterType;
    } else {
      type = e.toString('latin1', t0, t1);
    }
    const head = paeTypeHeader(type);
    const lenDigits = len < 10 ? 1 : Math.floor(Math.log10(len)) + 1;
    const m0 = this.arenaLen;
    const bodyAt = m0 + head.length + lenDigits + 1;
    const m1 = bodyAt + len;
    if (this.arena.length < m1) {
      const a = Buffer.alloc(Math.max(m1, this.arena.length * 2));
      this.arena.copy(a, 0, 0, this.arenaLen);
      this.arena = a;
    }
    const arena = this.arena;
    arena.set(head, m0);
    // PAE's decimal payload length and a space, then the payload decoded in place.
    for (let k = 0, v = len; k < lenDigits; k++, v = Math.floor(v / 10)) {
      arena[bodyAt - 2 - k] = 0x30 + (v % 10);
    }
    arena[bodyAt - 1] = 0x20;
    if (decodeBase64Into(e, p0, p1, arena, bodyAt) !== len) return false;
    this.arenaLen = m1;
    // Signature checks for the ring's keys (decodeRun's loop over checkSignature).
    this.sigKeyids = grow(this.sigKeyids, nSig);
    const keyids = this.sigKeyids;
    let oneSig = -1;
    for (let j = 0; j < nSig; j++) {
      const kix = this.internAt(e, sigs[4 * j]!, sigs[4 * j + 1]!);
      keyids[j] = kix;
      if (nSig === 1) oneSig = this.sigAt(e, sigs[2]!, sigs[3]!);
      const keys = this.keysOf(kix);
      if (keys === undefined) continue;
      if (keys.nos.length === 0) continue;
      // checkSignature takes the first signature naming the keyid (decoded once for its keys)
      let first = j;
      for (let x = 0; x < j; x++) {
        if (keyids[x] === kix) {
          first = x;
          break;
        }
      }
      const at = nSig === 1 ? oneSig : this.sigAt(e, sigs[4 * first + 2]!, sigs[4 * first + 3]!);
      for (let q = 0; q < keys.nos.length; q++) this.check(keys.nos[q]!, keys.vixs[q]!, at, m0, m1);
    }
    const body = arena.subarray(bodyAt, m1);
    if (kind === KIND_RAW) {
      if (t1 - t0 === this.registrationType.length && has(e, t0, this.registrationType)) {
        this.registrationKey(body, newKeys);
      }
      return false;
    }
    // Packed kinds: one signature, a valid keyid, a canonical 64-byte signature.
    if (nSig !== 1 || oneSig < 0) return false;
    const keyid = keyids[0]!;
    if (!this.passes(this.keyidRe, OK_KEYID, BAD_KEYID, keyid)) return false;
    if (!(kind === KIND_USAGE ? this.usage(i, body) : this.meter(i, body))) return false;
    this.kind[i] = kind;
    this.keyid[i] = keyid;
    for (let k = 0, o = 64 * i; k < 64; k++) this.sig[o + k] = this.sigArena[oneSig + k]!;
    if (this.full) sha256Into(body, this.hashes, HASH_WIDTH * i);
    return true;
  }

  /** A registration's `key`, added to the ring (whatever else the payload holds). */
  private registrationKey(body: Buffer, newKeys: string[]): void {
    let p: unknown;
    try {
      p = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    const key = (p as { key?: unknown } | null)?.key;
    if (typeof key === 'string' && this.ring.add(key)) newKeys.push(key);
  }

  /**
   * A number at `at` in its canonical form (as JSON.stringify writes it), its end in `this.end`;
   * NaN when there is none.
   */
  private numberAt(b: Buffer, at: number): number {
    let j = at;
    let int = true;
    for (; j < b.length; j++) {
      const c = b[j]!;
      if (c >= 0x30 && c <= 0x39) continue;
      if (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45 || c === 0x65) {
        int = false;
        continue;
      }
      break;
    }
    this.end = j;
    if (j === at) return Number.NaN;
    if (int && j - at <= 15 && (b[at] !== 0x30 || j - at === 1)) return dig(b, at, j - at);
    const s = b.toString('latin1', at, j);
    const v = Number(s);
    return String(v) === s ? v : Number.NaN;
  }

  /**
   * The string-table index of a plain string at `at` (`plainString`), its closing quote in
   * `this.end`; -1 if there is none.
   */
  private stringAt(b: Buffer, at: number): number {
    const q = plainString(b, at, b.length);
    if (q < 0) return -1;
    this.end = q;
    return this.internAt(b, at, q);
  }

  /** The index of an identifier (ID_PATTERN) at `at`; -1 if there is none. */
  private idAt(b: Buffer, at: number): number {
    const s = this.stringAt(b, at);
    return s >= 0 && this.passes(this.idRe, OK_ID, BAD_ID, s) ? s : -1;
  }

  /** The payload of a usage report, checked as `validUsage` checks it, into the columns. */
  private usage(i: number, b: Buffer): boolean {
    if (!has(b, 0, U.bodyHash) || !isHexHash(b, U.bodyHash.length)) return false;
    let at = U.bodyHash.length + 64;
    if (!has(b, at, U.cluster)) return false;
    const cluster = this.idAt(b, at + U.cluster.length);
    if (cluster < 0) return false;
    at = this.end;
    if (!has(b, at, U.end)) return false;
    const t1 = timeAt(b, at + U.end.length);
    at += U.end.length + 20;
    if (!has(b, at, U.energyJ)) return false;
    const energy = this.numberAt(b, at + U.energyJ.length);
    if (!(energy >= 0)) return false;
    at = this.end;
    if (!has(b, at, U.facility)) return false;
    const facility = this.idAt(b, at + U.facility.length);
    if (facility < 0) return false;
    at = this.end;
    if (!has(b, at, U.flop)) return false;
    const flop = this.numberAt(b, at + U.flop.length);
    if (!(flop >= 0)) return false;
    at = this.end;
    if (!has(b, at, U.gpuSeconds)) return false;
    const gpuSeconds = this.numberAt(b, at + U.gpuSeconds.length);
    if (!(gpuSeconds >= 0)) return false;
    at = this.end;
    if (!has(b, at, U.gpus)) return false;
    const gpus = this.numberAt(b, at + U.gpus.length);
    if (!Number.isSafeInteger(gpus) || gpus < 0) return false;
    at = this.end;
    if (!has(b, at, U.lab)) return false;
    const lab = this.stringAt(b, at + U.lab.length);
    if (lab < 0 || !this.passes(this.labRe, OK_LAB, BAD_LAB, lab)) return false;
    at = this.end;
    if (!has(b, at, U.node)) return false;
    const node = this.idAt(b, at + U.node.length);
    if (node < 0) return false;
    at = this.end;
    if (!has(b, at, U.prev) || !isHexHash(b, at + U.prev.length)) return false;
    const prevAt = at + U.prev.length;
    at = prevAt + 64;
    if (!has(b, at, U.count)) return false;
    const count = this.numberAt(b, at + U.count.length);
    if (!Number.isSafeInteger(count) || count < 0) return false;
    at = this.end;
    if (!has(b, at, U.root) || !isHexHash(b, at + U.root.length)) return false;
    const rootAt = at + U.root.length;
    at = rootAt + 64;
    if (!has(b, at, U.seq)) return false;
    const seq = this.numberAt(b, at + U.seq.length);
    if (!Number.isSafeInteger(seq) || seq < 0) return false;
    at = this.end;
    if (!has(b, at, U.start)) return false;
    const t0 = timeAt(b, at + U.start.length);
    at += U.start.length + 20;
    if (!has(b, at, U.tensorActive)) return false;
    const tensor = this.numberAt(b, at + U.tensorActive.length);
    if (!(tensor >= 0 && tensor <= 1)) return false;
    at = this.end;
    if (!has(b, at, U.workload)) return false;
    const workload = this.stringAt(b, at + U.workload.length);
    if (workload < 0 || !this.passes(this.workloadRule, OK_WORKLOAD, BAD_WORKLOAD, workload)) {
      return false;
    }
    at = this.end;
    if (!has(b, at, U.close) || at + U.close.length !== b.length) return false;
    // Times valid, end after start, gpuSeconds within gpus × duration.
    if (!(t1 > t0) || !(gpuSeconds <= gpus * (t1 - t0))) return false;
    const ns = NUM_WIDTH * i;
    this.num[ns] = t0;
    this.num[ns + 1] = t1;
    this.num[ns + 2] = seq;
    this.num[ns + 3] = energy;
    this.num[ns + 4] = flop;
    this.num[ns + 5] = gpuSeconds;
    this.num[ns + 6] = gpus;
    this.num[ns + 7] = count;
    this.num[ns + 8] = tensor;
    const ss = STR_WIDTH * i;
    this.str[ss] = lab;
    this.str[ss + 1] = facility;
    this.str[ss + 2] = cluster;
    this.str[ss + 3] = node;
    if (this.full) this.str[ss + 4] = this.nodePath(facility, cluster, node);
    this.str[ss + 5] = workload;
    if (this.full) {
      const h = HASH_WIDTH * i;
      hexInto(b, prevAt, this.hashes, h + 32);
      hexInto(b, U.bodyHash.length, this.hashes, h + 64);
      hexInto(b, rootAt, this.hashes, h + 96);
    }
    return true;
  }

  /** The payload of a meter reading, checked as `validMeter` checks it, into the columns. */
  private meter(i: number, b: Buffer): boolean {
    if (!has(b, 0, M.counterJ)) return false;
    const counter = this.numberAt(b, M.counterJ.length);
    if (!(counter >= 0)) return false;
    let at = this.end;
    if (!has(b, at, M.end)) return false;
    const t1 = timeAt(b, at + M.end.length);
    at += M.end.length + 20;
    if (!has(b, at, M.energyJ)) return false;
    const energy = this.numberAt(b, at + M.energyJ.length);
    if (!(energy >= 0)) return false;
    at = this.end;
    if (!has(b, at, M.facility)) return false;
    const facility = this.idAt(b, at + M.facility.length);
    if (facility < 0) return false;
    at = this.end;
    if (!has(b, at, M.meter)) return false;
    const meter = this.idAt(b, at + M.meter.length);
    if (meter < 0) return false;
    at = this.end;
    if (!has(b, at, M.prev) || !isHexHash(b, at + M.prev.length)) return false;
    const prevAt = at + M.prev.length;
    at = prevAt + 64;
    if (!has(b, at, M.seq)) return false;
    const seq = this.numberAt(b, at + M.seq.length);
    if (!Number.isSafeInteger(seq) || seq < 0) return false;
    at = this.end;
    if (!has(b, at, M.start)) return false;
    const t0 = timeAt(b, at + M.start.length);
    at += M.start.length + 20;
    if (!has(b, at, M.close) || at + M.close.length !== b.length) return false;
    if (!(t1 > t0)) return false;
    const ns = NUM_WIDTH * i;
    this.num[ns] = t0;
    this.num[ns + 1] = t1;
    this.num[ns + 2] = seq;
    this.num[ns + 3] = energy;
    this.num[ns + 4] = counter;
    const ss = STR_WIDTH * i;
    this.str[ss] = facility;
    this.str[ss + 1] = meter;
    if (this.full) hexInto(b, prevAt, this.hashes, HASH_WIDTH * i + 32);
    return true;
  }

  /** The index of `facility/cluster/node`, found by the indexes of its parts. */
  private nodePath(facility: number, cluster: number, node: number): number {
    const st = this.strings;
    // One number for the three indexes while each is below 2^17 (a table restarts at 200,000).
    if ((facility | cluster | node) >= 131_072)
      return this.intern(`${st[facility]}/${st[cluster]}/${st[node]}`);
    const key = (facility * 131_072 + cluster) * 131_072 + node;
    let ix = this.nodePaths.get(key);
    if (ix === undefined) {
      ix = this.intern(`${st[facility]}/${st[cluster]}/${st[node]}`);
      this.nodePaths.set(key, ix);
    }
    return ix;
  }
}
