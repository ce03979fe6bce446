/**
 * The witness, without HTTP: C2SP tlog-witness `add-checkpoint` and the monitoring read, over a
 * {@link WitnessStore}. Every check of the specification, in its order:
 *
 * 1. the request is old line, proof lines, blank line, checkpoint (else 400);
 * 2. the checkpoint's origin is a configured log (else 404);
 * 3. a trusted key for the origin signed it, and no trusted key's signature fails (else 403);
 *    signatures of unknown keys are ignored;
 * 4. the old size is at most the checkpoint size (else 400);
 * 5. atomically with the store: the old size is the size last cosigned for the origin, or 0
 *    (else 409 with that size, `text/x.tlog.size`);
 * 6. a size-0 checkpoint has the empty-tree root; from old size 0 the proof is empty; at equal
 *    sizes the roots are equal; otherwise the RFC 6962 consistency proof from the stored root
 *    to the new root verifies (else 422, and the stored checkpoint is left as it was);
 * 7. the new checkpoint (with its verified log signatures and the cosignature) is persisted,
 *    then the timestamped Ed25519 cosignature line (tlog-cosignature v1, type 0x04) is returned.
 *
 * Steps 5–7 run as one compare-and-swap of the store, serialized per origin in this process as
 * well, so concurrent requests can never roll the stored size back. A refused checkpoint that
 * was validly signed (step 6) is kept as possible evidence of a fork.
 */
import type { Logger } from 'pino';
import { bytesEqual, fromUtf8 } from '../core/bytes.js';
import { isVPauseError, VPauseError } from '../core/errors.js';
import { emptyRoot, verifyConsistency } from '../merkle/rfc9162.js';
import {
  KEY_TYPE_COSIGNATURE,
  KEY_TYPE_ED25519,
  type SignerKey,
  type VerifierKey,
} from '../note/keys.js';
import { formatSignatureLine, openNote, parseNote } from '../note/note.js';
import { type Checkpoint, parseCheckpoint } from '../tlog/checkpoint.js';
import { signCosignature } from '../tlog/cosignature.js';
import { silentLogger } from '../util/logger.js';
import {
  type AddCheckpointRequest,
  MAX_ADD_CHECKPOINT_BYTES,
  originHash,
  parseAddCheckpointRequest,
} from './protocol.js';
import type { RefusalRecord, WitnessRecord, WitnessStore } from './store.js';

/**
 * Why the witness refused a request (closed set), and the status the protocol gives it.
 * - WITNESS_REQUEST_MALFORMED (400): body framing, note or checkpoint body malformed
 * - WITNESS_REQUEST_TOO_LARGE (413): body over 64 KiB
 * - WITNESS_OLD_SIZE_TOO_LARGE (400): old size above the checkpoint size
 * - WITNESS_UNKNOWN_ORIGIN (404): not a configured log
 * - WITNESS_UNSIGNED (403): no valid signature by a trusted key, or a trusted key's fails
 * - WITNESS_CONFLICT (409): old size is not the size last cosigned
 * - WITNESS_NOT_EMPTY_ROOT (422): size 0 with another root than the empty tree's
 * - WITNESS_PROOF_NOT_EMPTY (422): a proof from old size 0, or between equal sizes
 * - WITNESS_ROOT_MISMATCH (422): same size as the stored checkpoint, another root
 * - WITNESS_INCONSISTENT (422): the consistency proof does not verify
 * - WITNESS_STORAGE (500): the new state could not be persisted; nothing was cosigned
 */
export type WitnessErrorCode =
  | 'WITNESS_REQUEST_MALFORMED'
  | 'WITNESS_REQUEST_TOO_LARGE'
  | 'WITNESS_OLD_SIZE_TOO_LARGE'
  | 'WITNESS_UNKNOWN_ORIGIN'
  | 'WITNESS_UNSIGNED'
  | 'WITNESS_CONFLICT'
  | 'WITNESS_NOT_EMPTY_ROOT'
  | 'WITNESS_PROOF_NOT_EMPTY'
  | 'WITNESS_ROOT_MISMATCH'
  | 'WITNESS_INCONSISTENT'
  | 'WITNESS_STORAGE';

/** The HTTP status of each refusal, as tlog-witness fixes it. */
export const WITNESS_STATUS: Readonly<
  Record<WitnessErrorCode, 400 | 403 | 404 | 409 | 413 | 422 | 500>
> = Object.freeze({
  WITNESS_REQUEST_MALFORMED: 400,
  WITNESS_REQUEST_TOO_LARGE: 413,
  WITNESS_OLD_SIZE_TOO_LARGE: 400,
  WITNESS_UNKNOWN_ORIGIN: 404,
  WITNESS_UNSIGNED: 403,
  WITNESS_CONFLICT: 409,
  WITNESS_NOT_EMPTY_ROOT: 422,
  WITNESS_PROOF_NOT_EMPTY: 422,
  WITNESS_ROOT_MISMATCH: 422,
  WITNESS_INCONSISTENT: 422,
  WITNESS_STORAGE: 500,
});

/** The answer to an add-checkpoint request. */
export type AddCheckpointOutcome =
  | {
      status: 200;
      /** The cosignature line(s), each ending in a newline. */
      body: string;
      origin: string;
      size: number;
    }
  | { status: 409; code: 'WITNESS_CONFLICT'; origin: string; size: number; reason: string }
  | {
      status: 400 | 403 | 404 | 413 | 422 | 500;
      code: Exclude<WitnessErrorCode, 'WITNESS_CONFLICT'>;
      reason: string;
      origin?: string;
    };

/** Hooks the HTTP layer uses to count outcomes. */
export interface WitnessObserver {
  outcome?(o: AddCheckpointOutcome): void;
  cosigned?(origin: string, size: number): void;
}

export interface WitnessConfig {
  /** The witness's cosigning key (type 0x04). */
  signer: SignerKey;
  /** Trusted log keys (type 0x01); a log's origin is its key's name. Several may share one. */
  logs: readonly VerifierKey[];
  store: WitnessStore;
  /** Clock, ms since the epoch (cosignature timestamps). Default Date.now. */
  now?: () => number;
  logger?: Logger;
  observer?: WitnessObserver;
}

/**
 * Codes thrown by the Witness constructor.
 * - WITNESS_CONFIG: the signer is not type 0x04, a log key is not type 0x01, or no log is given
 */
export type WitnessConfigErrorCode = 'WITNESS_CONFIG';

type Refusal = Extract<AddCheckpointOutcome, { code: string }>;

function refuse(
  code: Exclude<WitnessErrorCode, 'WITNESS_CONFLICT'>,
  reason: string,
  origin?: string,
): Refusal {
  const o = { status: WITNESS_STATUS[code], code, reason } as Refusal;
  if (origin !== undefined) o.origin = origin;
  return o;
}

/** Serializes async work per key (a promise chain per key). */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

export class Witness {
  private readonly signer: SignerKey;
  private readonly logs = new Map<string, VerifierKey[]>();
  private readonly byHash = new Map<string, string>();
  private readonly store: WitnessStore;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly observer: WitnessObserver;
  private readonly mutex = new KeyedMutex();

  /**
   * @throws {VPauseError<WitnessConfigErrorCode>} WITNESS_CONFIG for a signer that is not a
   *   cosignature key, a log key that is not a note key, or no log at all
   */
  constructor(cfg: WitnessConfig) {
    if (cfg.signer.type !== KEY_TYPE_COSIGNATURE) {
      throw new VPauseError<WitnessConfigErrorCode>(
        'WITNESS_CONFIG',
        `witness key ${cfg.signer.name} is not a cosignature key (vpause keygen --type cosignature)`,
      );
    }
    if (cfg.logs.length === 0) {
      throw new VPauseError<WitnessConfigErrorCode>('WITNESS_CONFIG', 'no log keys configured');
    }
    for (const k of cfg.logs) {
      if (k.type !== KEY_TYPE_ED25519) {
        throw new VPauseError<WitnessConfigErrorCode>(
          'WITNESS_CONFIG',
          `log key ${k.name} is not a note signing key (type 0x01)`,
        );
      }
      const list = this.logs.get(k.name) ?? [];
      if (!list.some((u) => u.vkey === k.vkey)) list.push(k);
      this.logs.set(k.name, list);
      this.byHash.set(originHash(k.name), k.name);
    }
    this.signer = cfg.signer;
    this.store = cfg.store;
    this.now = cfg.now ?? Date.now;
    this.log = cfg.logger ?? silentLogger();
    this.observer = cfg.observer ?? {};
  }

  /** The origins this witness cosigns for. */
  get origins(): string[] {
    return [...this.logs.keys()];
  }

  /**
   * Handles one add-checkpoint request body. Never throws: every outcome, including a storage
   * failure (500, nothing cosigned), is a value.
   */
  async addCheckpoint(body: Uint8Array | string): Promise<AddCheckpointOutcome> {
    const o = await this.handle(body);
    this.observer.outcome?.(o);
    return o;
  }

  private async handle(body: Uint8Array | string): Promise<AddCheckpointOutcome> {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (length > MAX_ADD_CHECKPOINT_BYTES) {
      return refuse('WITNESS_REQUEST_TOO_LARGE', `body over ${MAX_ADD_CHECKPOINT_BYTES} bytes`);
    }
    let req: AddCheckpointRequest;
    let text: string;
    let cp: Checkpoint;
    try {
      req = parseAddCheckpointRequest(body);
      text = parseNote(req.checkpoint).text;
      cp = parseCheckpoint(text);
    } catch (e) {
      return refuse('WITNESS_REQUEST_MALFORMED', (e as Error).message);
    }
    const keys = this.logs.get(cp.origin);
    if (keys === undefined) {
      return refuse('WITNESS_UNKNOWN_ORIGIN', `unknown log origin ${JSON.stringify(cp.origin)}`);
    }
    let logLines: string;
    try {
      const opened = openNote(req.checkpoint, keys);
      logLines = opened.signatures
        .filter((s) =>
          opened.verified.some((k) => k.name === s.name && bytesEqual(k.keyId, s.keyId)),
        )
        .map(formatSignatureLine)
        .join('');
    } catch (e) {
      if (isVPauseError(e, 'NOTE_MALFORMED') || isVPauseError(e, 'NOTE_TOO_BIG')) {
        return refuse('WITNESS_REQUEST_MALFORMED', (e as Error).message, cp.origin);
      }
      return refuse('WITNESS_UNSIGNED', (e as Error).message, cp.origin);
    }
    if (req.oldSize > cp.size) {
      return refuse(
        'WITNESS_OLD_SIZE_TOO_LARGE',
        `old size ${req.oldSize} is above the checkpoint size ${cp.size}`,
        cp.origin,
      );
    }
    const outcome = await this.mutex.run(cp.origin, () => {
      try {
        return this.store.update(cp.origin, (current) =>
          this.decide(current, req, cp, text, logLines),
        );
      } catch (e) {
        this.log.error({ err: e, origin: cp.origin }, 'witness state not persisted');
        return refuse('WITNESS_STORAGE', 'the new state could not be persisted', cp.origin);
      }
    });
    if (outcome.status === 200) {
      this.observer.cosigned?.(cp.origin, cp.size);
      this.log.info({ origin: cp.origin, size: cp.size }, 'cosigned');
    } else if (outcome.status === 422) {
      // Validly signed but inconsistent with what we cosigned: possible proof of a fork.
      this.log.warn(
        { origin: cp.origin, size: cp.size, code: outcome.code, reason: outcome.reason },
        'refused a validly signed checkpoint',
      );
      try {
        this.store.recordRefusal({
          origin: cp.origin,
          receivedAt: this.now(),
          status: outcome.status,
          code: outcome.code,
          reason: outcome.reason,
          request: typeof body === 'string' ? body : fromUtf8(body),
        });
      } catch (e) {
        this.log.error({ err: e }, 'could not keep the refused checkpoint');
      }
    }
    return outcome;
  }

  /** The compare-and-swap decision; runs inside the store's atomic update. */
  private decide(
    current: WitnessRecord | undefined,
    req: AddCheckpointRequest,
    cp: Checkpoint,
    text: string,
    logLines: string,
  ): { write?: WitnessRecord; result: AddCheckpointOutcome } {
    const origin = cp.origin;
    const stored = current?.size ?? 0;
    if (req.oldSize !== stored) {
      return {
        result: {
          status: 409,
          code: 'WITNESS_CONFLICT',
          origin,
          size: stored,
          reason: `old size ${req.oldSize} is not the last cosigned size ${stored}`,
        },
      };
    }
    if (cp.size === 0 && !bytesEqual(cp.rootHash, emptyRoot())) {
      return { result: refuse('WITNESS_NOT_EMPTY_ROOT', 'size 0 needs the empty root', origin) };
    }
    if (req.oldSize === 0) {
      if (req.proof.length !== 0) {
        return {
          result: refuse('WITNESS_PROOF_NOT_EMPTY', 'no proof is needed from size 0', origin),
        };
      }
    } else if (req.oldSize === cp.size) {
      if (req.proof.length !== 0) {
        return {
          result: refuse('WITNESS_PROOF_NOT_EMPTY', 'no proof is needed at equal sizes', origin),
        };
      }
      if (!bytesEqual(current!.rootHash, cp.rootHash)) {
        return {
          result: refuse(
            'WITNESS_ROOT_MISMATCH',
            `size ${cp.size} was cosigned with another root hash`,
            origin,
          ),
        };
      }
    } else {
      try {
        verifyConsistency(req.oldSize, cp.size, req.proof, current!.rootHash, cp.rootHash);
      } catch (e) {
        return {
          result: refuse(
            'WITNESS_INCONSISTENT',
            `no consistency from size ${req.oldSize}: ${(e as Error).message}`,
            origin,
          ),
        };
      }
    }
    const nowMs = this.now();
    // tlog-cosignature: the timestamp MUST NOT be zero.
    const time = Math.max(1, Math.floor(nowMs / 1000));
    const line = signCosignature(text, this.signer, time);
    return {
      write: {
        origin,
        size: cp.size,
        rootHash: cp.rootHash,
        note: `${text}\n${logLines}${line}`,
        updatedAt: nowMs,
      },
      result: { status: 200, body: line, origin, size: cp.size },
    };
  }

  /**
   * The latest checkpoint cosigned for the origin whose lowercase hex SHA-256 is `hash`, with
   * the log signature(s) and this witness's cosignature, or undefined (never cosigned, unknown).
   * @throws {VPauseError} WITNESS_STORAGE when the store fails
   */
  checkpointByOriginHash(hash: string): string | undefined {
    const origin = this.byHash.get(hash);
    return origin === undefined ? undefined : this.store.latest(origin)?.note;
  }

  /**
   * The validly signed checkpoints refused as inconsistent (422), oldest first: possible proof
   * of a fork, for the operator.
   * @throws {VPauseError} WITNESS_STORAGE when the store fails
   */
  refusals(): RefusalRecord[] {
    return this.store.refusals();
  }

  /** The stored state of an origin (tests, metrics). */
  latest(origin: string): WitnessRecord | undefined {
    return this.store.latest(origin);
  }
}
