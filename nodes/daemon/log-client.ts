/**
 * The write side of a vpause log as a signer sees it: submit one statement
 * (`POST /v1/statements`), fetch its receipt (`GET /v1/receipt/<index>`, a C2SP tlog-proof) and
 * verify the receipt against the log key and the entry that was submitted. Shared by the
 * attestation node, the facility meter and the lab tools.
 *
 * Submission outcomes are classified for the caller's retry policy rather than thrown:
 * `sequenced` (also for a duplicate: the log answers the original index), `conflict` (409: the
 * log holds another statement with this chain and seq), `retry` (network failure, 5xx, 429 or
 * 503 pushback, with the server's Retry-After) and `rejected` (any other 4xx problem).
 */
import { bytesEqual, fromHex, toHex } from '../../src/core/bytes.js';
import { hashLeaf } from '../../src/merkle/rfc9162.js';
import type { VerifierKey } from '../../src/note/keys.js';
import { type Checkpoint, openCheckpoint } from '../../src/tlog/checkpoint.js';
import { parseTlogProof, verifyTlogProofInclusion } from '../../src/tlog/proof.js';
import { DaemonError } from './errors.js';
import { parseRetryAfter } from './util.js';

/** What became of one submission. */
export type SubmitOutcome =
  | { kind: 'sequenced'; index: number; leafHash: string }
  | { kind: 'conflict'; status: 409; code: string; detail: string }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'rejected'; status: number; code: string; detail: string };

export interface LogClientOptions {
  /** Base URL of the log. */
  url: string;
  /** The log's verifier key (receipts are checked against it). */
  logKey: VerifierKey;
  /** Checkpoint origin (default: the log key's name). */
  origin?: string;
  fetch?: typeof fetch;
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number;
  /** Clock for Retry-After dates (default Date.now). */
  now?: () => number;
}

/** A verified receipt. */
export interface VerifiedReceipt {
  index: number;
  /** The checkpoint the receipt proves inclusion in (signed by the log key). */
  checkpoint: Checkpoint;
  /** The receipt text (C2SP tlog-proof). */
  text: string;
}

async function problemOf(r: Response): Promise<{ code: string; detail: string }> {
  try {
    const j = (await r.json()) as { code?: unknown; detail?: unknown; title?: unknown };
    return {
      code: typeof j.code === 'string' ? j.code : `HTTP_${r.status}`,
      detail:
        typeof j.detail === 'string'
          ? j.detail
          : typeof j.title === 'string'
            ? j.title
            : `HTTP ${r.status}`,
    };
  } catch {
    return { code: `HTTP_${r.status}`, detail: `HTTP ${r.status}` };
  }
}

/**
 * Verifies a receipt: a well-formed tlog-proof for `index` whose checkpoint carries a valid
 * signature by the log key (other signatures, e.g. witness cosignatures, are ignored here) and
 * proves the inclusion of `entry`'s leaf hash.
 * @throws {DaemonError} RECEIPT_INVALID naming what failed
 */
export function verifyReceipt(
  text: string,
  expect: { entry: Uint8Array; index: number; logKey: VerifierKey; origin?: string },
): VerifiedReceipt {
  try {
    const proof = parseTlogProof(text);
    if (proof.index !== expect.index) {
      throw new Error(`receipt is for index ${proof.index}, not ${expect.index}`);
    }
    const { checkpoint } = openCheckpoint(
      proof.checkpoint,
      expect.logKey,
      [],
      expect.origin !== undefined ? { origin: expect.origin } : {},
    );
    verifyTlogProofInclusion(proof, hashLeaf(expect.entry), checkpoint);
    return { index: proof.index, checkpoint, text };
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new DaemonError(
      'RECEIPT_INVALID',
      `receipt for index ${expect.index} does not verify: ${(e as Error).message}${code ? ` (${code})` : ''}`,
      { cause: e },
    );
  }
}

export class LogClient {
  readonly url: string;
  readonly logKey: VerifierKey;
  readonly origin: string | undefined;
  private readonly f: typeof fetch;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(opts: LogClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.logKey = opts.logKey;
    this.origin = opts.origin;
    this.f = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  private async request(path: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    const t = AbortSignal.timeout(this.timeoutMs);
    return this.f(`${this.url}${path}`, {
      ...init,
      signal: signal ? AbortSignal.any([signal, t]) : t,
    });
  }

  /**
   * Submits one entry (the JCS envelope). Never throws for HTTP or network failures: the
   * outcome says what happened. A `sequenced` outcome is checked against the entry's leaf hash.
   */
  async submit(entry: Uint8Array, signal?: AbortSignal): Promise<SubmitOutcome> {
    let r: Response;
    try {
      r = await this.request(
        '/v1/statements',
        {
          method: 'POST',
          body: entry as Uint8Array<ArrayBuffer>,
          headers: { 'content-type': 'application/json' },
        },
        signal,
      );
    } catch (e) {
      return { kind: 'retry', reason: `log unreachable: ${(e as Error).message}` };
    }
    if (r.ok) {
      let j: { index?: unknown; leafHash?: unknown };
      try {
        j = (await r.json()) as typeof j;
      } catch (e) {
        return { kind: 'retry', reason: `log answered unparsable JSON: ${(e as Error).message}` };
      }
      const index = j.index;
      const leafHash = j.leafHash;
      if (
        typeof index !== 'number' ||
        !Number.isSafeInteger(index) ||
        index < 0 ||
        typeof leafHash !== 'string' ||
        !/^[0-9a-f]{64}$/.test(leafHash)
      ) {
        return { kind: 'retry', reason: 'log answered without a valid index and leaf hash' };
      }
      if (!bytesEqual(fromHex(leafHash), hashLeaf(entry))) {
        return { kind: 'retry', reason: `log acknowledged leaf ${leafHash}, not our entry's` };
      }
      return { kind: 'sequenced', index, leafHash };
    }
    const p = await problemOf(r);
    if (r.status === 409 && p.code === 'SEQ_CONFLICT') {
      return { kind: 'conflict', status: 409, code: p.code, detail: p.detail };
    }
    if (r.status === 503 || r.status === 429 || r.status >= 500 || r.status === 408) {
      const retryAfterMs = parseRetryAfter(r.headers.get('retry-after'), this.now());
      return {
        kind: 'retry',
        reason: `${p.code}: ${p.detail}`,
        status: r.status,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    return { kind: 'rejected', status: r.status, code: p.code, detail: p.detail };
  }

  /**
   * Fetches the receipt text of `index`, or undefined while no served checkpoint covers it (404).
   * @throws {DaemonError} LOG_UNREACHABLE on network failure; LOG_BAD_RESPONSE for another status
   */
  async receipt(index: number, signal?: AbortSignal): Promise<string | undefined> {
    let r: Response;
    try {
      r = await this.request(`/v1/receipt/${index}`, { method: 'GET' }, signal);
    } catch (e) {
      throw new DaemonError('LOG_UNREACHABLE', `log unreachable: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (r.status === 404) {
      await r.body?.cancel();
      return undefined;
    }
    if (!r.ok) {
      const p = await problemOf(r);
      throw new DaemonError('LOG_BAD_RESPONSE', `GET /v1/receipt/${index}: ${p.code}: ${p.detail}`);
    }
    return r.text();
  }

  /**
   * Verifies a receipt for an entry of this log.
   * @throws {DaemonError} RECEIPT_INVALID
   */
  verify(text: string, entry: Uint8Array, index: number): VerifiedReceipt {
    return verifyReceipt(text, {
      entry,
      index,
      logKey: this.logKey,
      ...(this.origin !== undefined ? { origin: this.origin } : {}),
    });
  }
}

/** The hex leaf hash of an entry (RFC 9162). */
export function leafHashHex(entry: Uint8Array): string {
  return toHex(hashLeaf(entry));
}
