/**
 * A C2SP tlog-tiles client: reads a log only through `/checkpoint`, `/tile/…` and
 * `/tile/entries/…`, and trusts nothing it cannot check against a signed checkpoint. Tiles are
 * checked by recomputing the root they give; entry bundles by hashing each entry and comparing
 * with the level-0 tile. Used by the verifier, the monitor, the lab tools and the tests.
 */
import { LRUCache } from 'lru-cache';
import { bytesEqual, fromUtf8 } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import { hashLeaf, verifyConsistency } from '../merkle/rfc9162.js';
import {
  consistencyProofFromTiles,
  entriesPath,
  inclusionProofFromTiles,
  parseEntryBundle,
  type ReadTiles,
  TILE_WIDTH,
  type TileId,
  tilePath,
  treeHashFromTiles,
} from '../merkle/tiles.js';
import type { VerifierKey } from '../note/keys.js';
import type { OpenedNote } from '../note/note.js';
import { type Checkpoint, openCheckpoint } from '../tlog/checkpoint.js';

export type ClientErrorCode = 'LOG_UNREACHABLE' | 'LOG_BAD_RESPONSE' | 'LOG_INCONSISTENT';

export interface TlogClientOptions {
  /** Base URL of the log (tiles live under it). */
  url: string;
  logKey: VerifierKey;
  /** Checkpoint origin (default: the log key's name). */
  origin?: string;
  /** Witness keys whose cosignatures should be verified on checkpoints. */
  witnesses?: readonly VerifierKey[];
  fetch?: typeof fetch;
  /** Full tiles kept in memory (default 2,048 ≈ 16 MiB). */
  cacheTiles?: number;
}

export interface FetchedCheckpoint {
  checkpoint: Checkpoint;
  note: OpenedNote;
  /** The signed note as served. */
  text: string;
}

/** Hashes at tile level L in a tree of `size` leaves. */
function hashesAt(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

export class TlogClient {
  private readonly f: typeof fetch;
  private readonly base: string;
  private readonly full: LRUCache<string, Uint8Array>;

  constructor(private readonly opts: TlogClientOptions) {
    this.f = opts.fetch ?? fetch;
    this.base = opts.url.replace(/\/+$/, '');
    this.full = new LRUCache({ max: opts.cacheTiles ?? 2048 });
  }

  private async get(path: string): Promise<Uint8Array> {
    let r: Response;
    try {
      r = await this.f(`${this.base}/${path}`);
    } catch (cause) {
      throw new VPauseError<ClientErrorCode>(
        'LOG_UNREACHABLE',
        `cannot reach ${this.base}: ${(cause as Error).message}`,
        { cause },
      );
    }
    if (!r.ok) {
      throw new VPauseError<ClientErrorCode>('LOG_BAD_RESPONSE', `GET ${path}: HTTP ${r.status}`);
    }
    return new Uint8Array(await r.arrayBuffer());
  }

  /**
   * Fetches and opens the checkpoint (log signature required, witness cosignatures kept for the
   * caller to count).
   * @throws {VPauseError} LOG_UNREACHABLE, LOG_BAD_RESPONSE, or the note/checkpoint errors
   */
  async checkpoint(): Promise<FetchedCheckpoint> {
    const raw = await this.get('checkpoint');
    return this.open(raw);
  }

  /** Opens a checkpoint note with this client's keys. */
  open(raw: Uint8Array | string): FetchedCheckpoint {
    const text = typeof raw === 'string' ? raw : fromUtf8(raw);
    const { checkpoint, note } = openCheckpoint(
      text,
      this.opts.logKey,
      this.opts.witnesses ?? [],
      this.opts.origin !== undefined ? { origin: this.opts.origin } : {},
    );
    return { checkpoint, note, text };
  }

  /** A ReadTiles for the tree of `size` leaves: each tile fetched at its width in that tree. */
  tiles(size: number): ReadTiles {
    return async (ids: TileId[]) =>
      Promise.all(
        ids.map(async ({ level, index }) => {
          const width = Math.min(TILE_WIDTH, hashesAt(size, level) - index * TILE_WIDTH);
          if (width <= 0) return undefined;
          const key = `${level}/${index}`;
          const hit = this.full.get(key);
          if (hit !== undefined) return hit;
          const data = await this.get(tilePath({ level, index, width }));
          if (data.length !== width * 32) {
            throw new VPauseError<ClientErrorCode>(
              'LOG_BAD_RESPONSE',
              `tile ${key} has ${data.length} bytes, not ${width * 32}`,
            );
          }
          if (width === TILE_WIDTH) this.full.set(key, data);
          return data;
        }),
      );
  }

  /**
   * Checks that the tiles of the tree of `size` give `rootHash`.
   * @throws {VPauseError<'LOG_INCONSISTENT'>} when they do not
   */
  async verifyTree(size: number, rootHash: Uint8Array): Promise<void> {
    const root = await treeHashFromTiles(size, this.tiles(size));
    if (!bytesEqual(root, rootHash)) {
      throw new VPauseError<ClientErrorCode>(
        'LOG_INCONSISTENT',
        `tiles of size ${size} do not give the checkpoint's root`,
      );
    }
  }

  /**
   * Proves that checkpoint `a` is a prefix of checkpoint `b` with a consistency proof built from
   * the tiles of `b` (verified against both signed roots, so the log cannot lie with it).
   * @throws {VPauseError} LOG_INCONSISTENT, or PROOF_INVALID from verifyConsistency
   */
  async verifyConsistent(a: Checkpoint, b: Checkpoint): Promise<Uint8Array[]> {
    if (a.size > b.size) return this.verifyConsistent(b, a);
    if (a.size === b.size) {
      if (!bytesEqual(a.rootHash, b.rootHash)) {
        throw new VPauseError<ClientErrorCode>(
          'LOG_INCONSISTENT',
          `two roots for tree size ${a.size}`,
        );
      }
      return [];
    }
    if (a.size === 0) return [];
    const proof = await consistencyProofFromTiles(a.size, b.size, this.tiles(b.size));
    verifyConsistency(a.size, b.size, proof, a.rootHash, b.rootHash);
    return proof;
  }

  /** Inclusion proof of `index` in the tree of `size`, from the tiles. */
  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return inclusionProofFromTiles(index, size, this.tiles(size));
  }

  /**
   * Entries [start, end) of the tree of `size` (end ≤ size), read from entry bundles and each
   * checked against the leaf hashes of the level-0 tiles.
   * @throws {VPauseError} LOG_BAD_RESPONSE when a bundle does not match the tree
   */
  async entries(start: number, end: number, size: number): Promise<Uint8Array[]> {
    if (end > size || start < 0 || start > end) throw new RangeError('entries: bad range');
    const out: Uint8Array[] = [];
    const read = this.tiles(size);
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
      const [bundle, [leaves]] = await Promise.all([
        this.get(entriesPath(n, width)),
        read([{ level: 0, index: n }]),
      ]);
      const entries = parseEntryBundle(bundle, width);
      for (let i = 0; i < width; i++) {
        const idx = n * TILE_WIDTH + i;
        if (idx < start || idx >= end) continue;
        const e = entries[i]!;
        if (!bytesEqual(hashLeaf(e), leaves!.subarray(i * 32, i * 32 + 32))) {
          throw new VPauseError<ClientErrorCode>(
            'LOG_BAD_RESPONSE',
            `entry ${idx} does not match its leaf hash`,
          );
        }
        out.push(e);
      }
    }
    return out;
  }
}
