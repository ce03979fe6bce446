/**
 * C2SP tlog-checkpoint: the note text of a log's signed tree head.
 *
 *   <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]*
 *
 * Parsing is strict (attacker-controlled input): at least three lines, a non-empty origin, a
 * decimal size without leading zeros that fits a JavaScript safe integer (2^53 − 1), a
 * canonical padded base64 root of exactly 32 bytes, non-empty extension lines, no control
 * characters. Pure: no I/O.
 */
import { fromBase64, toBase64 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { type SignerKey, sameVerifierKey, type VerifierKey } from '../note/keys.js';
import { type OpenedNote, type OpenNoteOptions, openNote, signNote } from '../note/note.js';

/** A checkpoint (tree head) of a log. */
export interface Checkpoint {
  /** The log's identity, the first line. */
  origin: string;
  /** Number of leaves. */
  size: number;
  /** RFC 6962 root hash, 32 bytes. */
  rootHash: Uint8Array;
  /** Optional opaque extension lines (without newlines), usually none. */
  extensions: string[];
}

/**
 * Codes thrown by this module (openCheckpoint also throws the NoteErrorCode of openNote).
 * - CHECKPOINT_MALFORMED: the body is not a valid checkpoint (or cannot be formatted as one)
 * - CHECKPOINT_ORIGIN: the origin is not the expected one
 * - CHECKPOINT_UNSIGNED: the note verified, but not with the log's key (only witnesses signed)
 */
export type CheckpointErrorCode =
  | 'CHECKPOINT_MALFORMED'
  | 'CHECKPOINT_ORIGIN'
  | 'CHECKPOINT_UNSIGNED';

/** The error type this module throws. */
export type CheckpointError = VPauseError<CheckpointErrorCode>;

/** Options of `openCheckpoint`. */
export interface OpenCheckpointOptions extends OpenNoteOptions {
  /**
   * The expected origin line. Default: the log key's name (C2SP: the key name SHOULD match the
   * origin). Needed where they differ, as for sum.golang.org (origin "go.sum database tree").
   */
  origin?: string;
}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const BAD_CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;
const LINE_BAD_RE = /[\u0000-\u001f]/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function malformed(message: string, cause?: unknown): never {
  throw new VPauseError<CheckpointErrorCode>(
    'CHECKPOINT_MALFORMED',
    message,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Parses a checkpoint body (a note text, final newline included).
 * @throws {VPauseError<CheckpointErrorCode>} CHECKPOINT_MALFORMED
 */
export function parseCheckpoint(body: string): Checkpoint {
  if (typeof body !== 'string') malformed('checkpoint body must be a string');
  if (!body.endsWith('\n')) malformed('checkpoint body must end with a newline');
  if (BAD_CONTROL_RE.test(body)) malformed('checkpoint body contains a control character');
  if (LONE_SURROGATE_RE.test(body)) malformed('checkpoint body is not valid UTF-8');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) malformed('checkpoint body needs origin, size and root hash lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [
    string,
    string,
    string,
    ...string[],
  ];
  if (origin === '') malformed('checkpoint origin is empty');
  if (!SIZE_RE.test(sizeLine)) {
    malformed('checkpoint size must be decimal without leading zeros, at most 2^53 - 1');
  }
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) malformed('checkpoint size exceeds 2^53 - 1');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch (cause) {
    malformed('checkpoint root hash is not canonical padded base64', cause);
  }
  if (rootHash.length !== 32) malformed('checkpoint root hash must be 32 bytes');
  for (const e of extensions) if (e === '') malformed('checkpoint extension line is empty');
  return { origin, size, rootHash, extensions };
}

/**
 * Formats a checkpoint body (the note text).
 * @throws {VPauseError<CheckpointErrorCode>} CHECKPOINT_MALFORMED when a field cannot be written
 *   (empty origin or extension, a newline or control character in one, a size that is not a
 *   non-negative safe integer, a root that is not 32 bytes)
 */
export function formatCheckpoint(c: Checkpoint): string {
  if (typeof c.origin !== 'string' || c.origin === '' || LINE_BAD_RE.test(c.origin)) {
    malformed('checkpoint origin must be a non-empty line');
  }
  if (LONE_SURROGATE_RE.test(c.origin)) malformed('checkpoint origin is not valid UTF-8');
  if (!Number.isSafeInteger(c.size) || c.size < 0) {
    malformed('checkpoint size must be a non-negative safe integer');
  }
  if (!(c.rootHash instanceof Uint8Array) || c.rootHash.length !== 32) {
    malformed('checkpoint root hash must be 32 bytes');
  }
  for (const e of c.extensions) {
    if (typeof e !== 'string' || e === '' || LINE_BAD_RE.test(e) || LONE_SURROGATE_RE.test(e)) {
      malformed('checkpoint extension lines must be non-empty lines');
    }
  }
  const ext = c.extensions.map((e) => `${e}\n`).join('');
  return `${c.origin}\n${c.size}\n${toBase64(c.rootHash)}\n${ext}`;
}

/**
 * Formats and signs a checkpoint; returns the signed note.
 * @throws {VPauseError<CheckpointErrorCode>} CHECKPOINT_MALFORMED for an unwritable checkpoint
 * @throws {VPauseError<NoteErrorCode>} NOTE_INVALID_SIGNER for a signer of the wrong type
 */
export function signCheckpoint(c: Checkpoint, signer: SignerKey): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * Opens a signed checkpoint: verifies the note (the log key plus any extra verifiers, such as
 * witness keys, under `openNote`'s rules), requires a valid signature by the log key, parses
 * the body and checks the origin. Identical duplicate keys among the verifiers are merged.
 * @throws {VPauseError<NoteErrorCode>} from openNote (NOTE_MALFORMED, NOTE_TOO_BIG,
 *   NOTE_UNVERIFIED, NOTE_BAD_SIGNATURE, NOTE_AMBIGUOUS_KEY)
 * @throws {VPauseError<CheckpointErrorCode>} CHECKPOINT_UNSIGNED when only other keys verified,
 *   CHECKPOINT_MALFORMED, CHECKPOINT_ORIGIN
 */
export function openCheckpoint(
  note: string | Uint8Array,
  logKey: VerifierKey,
  extraVerifiers: readonly VerifierKey[] = [],
  opts: OpenCheckpointOptions = {},
): { checkpoint: Checkpoint; note: OpenedNote } {
  const verifiers: VerifierKey[] = [logKey];
  for (const v of extraVerifiers) {
    if (!verifiers.some((u) => sameVerifierKey(u, v))) verifiers.push(v);
  }
  const opened = openNote(note, verifiers, opts);
  if (!opened.verified.some((v) => sameVerifierKey(v, logKey))) {
    throw new VPauseError<CheckpointErrorCode>(
      'CHECKPOINT_UNSIGNED',
      `checkpoint has no valid signature by the log key ${logKey.name}`,
    );
  }
  const checkpoint = parseCheckpoint(opened.text);
  const origin = opts.origin ?? logKey.name;
  if (checkpoint.origin !== origin) {
    throw new VPauseError<CheckpointErrorCode>(
      'CHECKPOINT_ORIGIN',
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`,
    );
  }
  return { checkpoint, note: opened };
}
