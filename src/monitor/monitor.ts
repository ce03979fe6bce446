/**
 * The monitor: follows a log through the tlog-tiles API only, and checks every checkpoint it
 * sees against (1) the last checkpoint it saw (persisted in a state file, so across runs too)
 * and (2) the checkpoints the witnesses cosigned (C2SP tlog-witness monitoring read,
 * `GET <witness>/<hex sha256(origin)>/checkpoint`). Every pair must be consistent: at one size
 * one root; across sizes an RFC 9162 consistency proof, built from the log's tiles, that leads
 * to both signed roots. On any inconsistency it writes a fork-evidence file (./evidence.ts) with
 * both signed checkpoints as they were served and the proof, and reports `fork`.
 *
 * What it proves, and what it does not: a `fork` report with a `same-size` or `inconsistent`
 * evidence file is proof, checkable offline by anyone with the policy, that the log signed two
 * histories. A pair it cannot decide yet (the witness is ahead of what the log serves, and the
 * log has no tiles for that size) is reported as `unresolved`, not as a fork; it is decided on a
 * later check, once the log serves a larger checkpoint. The monitor also reports whether the
 * served checkpoint carries the policy's quorum of cosignatures, and whether the log's tiles give
 * its signed root.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type FetchedCheckpoint, TlogClient } from '../client/tlog-client.js';
import { bytesEqual, toBase64 } from '../core/bytes.js';
import { isVPauseError, VPauseError } from '../core/errors.js';
import { emptyRoot } from '../merkle/rfc9162.js';
import { consistencyProofFromTiles, nodeFromTiles } from '../merkle/tiles.js';
import type { VerifierKey } from '../note/keys.js';
import { parseNote } from '../note/note.js';
import { evaluateQuorum, findWitness, type TlogPolicy } from '../policy/tlog-policy.js';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../tlog/checkpoint.js';
import { verifiedCosignatures } from '../tlog/cosignature.js';
import { silentLogger } from '../util/logger.js';
import { joinUrl, originHash } from '../witness/protocol.js';
import {
  FORK_EVIDENCE_TYPE,
  type ForkEvidence,
  isPowerOfTwo,
  rootsFromConsistencyProof,
} from './evidence.js';

/**
 * Codes thrown by the monitor (besides the tlog client's LOG_UNREACHABLE / LOG_BAD_RESPONSE and
 * the note and checkpoint codes of a checkpoint that does not verify).
 * - MONITOR_UNKNOWN_LOG: no log key of the policy verifies the served checkpoint
 * - MONITOR_STATE_INVALID: the state file does not parse or its checkpoint does not verify
 */
export type MonitorErrorCode = 'MONITOR_UNKNOWN_LOG' | 'MONITOR_STATE_INVALID';

export const MONITOR_STATE_TYPE = 'vpause.monitor-state/v1';

export interface MonitorConfig {
  policy: TlogPolicy;
  /** The log's tlog-tiles prefix. */
  logUrl: string;
  /** Witness monitoring prefixes. Default: the URLs of the policy's witness lines. */
  witnessUrls?: readonly string[];
  /** State file: the last checkpoint seen (JSON). Without it, the state lives in memory only. */
  statePath?: string;
  /** Where fork-evidence files are written. Default: the current directory. */
  evidenceDir?: string;
  fetch?: typeof fetch;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** How one witness's view compared with the log's checkpoint. */
export interface WitnessViewReport {
  url: string;
  status: 'consistent' | 'not-cosigned' | 'unreachable' | 'invalid' | 'unresolved' | 'inconsistent';
  size?: number;
  detail?: string;
}

export interface MonitorReport {
  status: 'ok' | 'fork';
  origin: string;
  size: number;
  /** base64 */
  rootHash: string;
  /** Whether the served checkpoint carries the policy's quorum of cosignatures. */
  quorum: boolean;
  /** Policy names of the witnesses whose cosignatures verified on it. */
  cosignedBy: string[];
  /** Comparison with the previous checkpoint seen, if any. */
  previous?: {
    size: number;
    status: 'consistent' | 'unresolved' | 'inconsistent';
    detail?: string;
  };
  witnesses: WitnessViewReport[];
  warnings: string[];
  evidence?: ForkEvidence;
  evidencePath?: string;
}

/** A signed checkpoint and where it was seen. */
interface View {
  source: string;
  note: string;
  checkpoint: Checkpoint;
}

type Comparison =
  | { status: 'consistent' }
  | { status: 'unresolved'; detail: string }
  | { status: 'inconsistent'; evidence: ForkEvidence };

interface StateFile {
  type: typeof MONITOR_STATE_TYPE;
  origin: string;
  logKey: string;
  source: string;
  checkpoint: string;
  updatedAt: string;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Monitor {
  private readonly cfg: MonitorConfig;
  private readonly f: typeof fetch;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly witnessKeys: VerifierKey[];
  private readonly witnessUrls: string[];
  private clients = new Map<string, TlogClient>();
  private last: View | undefined;
  private stateLoaded = false;

  constructor(cfg: MonitorConfig) {
    this.cfg = cfg;
    this.f = cfg.fetch ?? fetch;
    this.now = cfg.now ?? Date.now;
    this.log = cfg.logger ?? silentLogger();
    this.witnessKeys = [...cfg.policy.witnesses.values()].map((w) => w.key);
    this.witnessUrls = [
      ...(cfg.witnessUrls ??
        [...cfg.policy.witnesses.values()].flatMap((w) => (w.url === undefined ? [] : [w.url]))),
    ];
  }

  /** The last checkpoint seen (the state), as a signed note. */
  get lastSeen(): string | undefined {
    return this.last?.note;
  }

  private client(key: VerifierKey): TlogClient {
    let c = this.clients.get(key.vkey);
    if (c === undefined) {
      c = new TlogClient({
        url: this.cfg.logUrl,
        logKey: key,
        witnesses: this.witnessKeys,
        fetch: this.f,
      });
      this.clients.set(key.vkey, c);
    }
    return c;
  }

  /** The policy log key that verifies `note` (trying each log of the note's origin). */
  private keyFor(note: string): VerifierKey {
    let origin: string;
    try {
      origin = parseCheckpoint(parseNote(note).text).origin;
    } catch (e) {
      throw new VPauseError<MonitorErrorCode>(
        'MONITOR_UNKNOWN_LOG',
        `the log serves no checkpoint: ${(e as Error).message}`,
        { cause: e },
      );
    }
    const logs = this.cfg.policy.logs.filter((l) => l.key.name === origin);
    const base = this.cfg.logUrl.replace(/\/+$/, '');
    logs.sort(
      (x, y) =>
        Number(y.url?.replace(/\/+$/, '') === base) - Number(x.url?.replace(/\/+$/, '') === base),
    );
    let lastError: unknown;
    for (const l of logs) {
      try {
        openCheckpoint(note, l.key, this.witnessKeys, { origin });
        return l.key;
      } catch (e) {
        lastError = e;
      }
    }
    throw new VPauseError<MonitorErrorCode>(
      'MONITOR_UNKNOWN_LOG',
      `no log key of the policy verifies the checkpoint of ${JSON.stringify(origin)}`,
      { cause: lastError },
    );
  }

  private async loadState(key: VerifierKey): Promise<void> {
    if (this.stateLoaded) return;
    this.stateLoaded = true;
    const path = this.cfg.statePath;
    if (path === undefined) return;
    let raw: string;
    try {
      raw = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const s = JSON.parse(raw) as StateFile;
      if (s.type !== MONITOR_STATE_TYPE || typeof s.checkpoint !== 'string') {
        throw new Error(`not a ${MONITOR_STATE_TYPE} file`);
      }
      const { checkpoint } = openCheckpoint(s.checkpoint, key, [], { origin: key.name });
      this.last = { source: String(s.source ?? `state ${path}`), note: s.checkpoint, checkpoint };
    } catch (e) {
      throw new VPauseError<MonitorErrorCode>(
        'MONITOR_STATE_INVALID',
        `state file ${path}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  private async saveState(key: VerifierKey, v: View): Promise<void> {
    const path = this.cfg.statePath;
    if (path === undefined) return;
    const s: StateFile = {
      type: MONITOR_STATE_TYPE,
      origin: v.checkpoint.origin,
      logKey: key.vkey,
      source: v.source,
      checkpoint: v.note,
      updatedAt: rfc3339(this.now()),
    };
    const tmp = `${path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(s, null, 2)}\n`);
    await rename(tmp, path);
  }

  /**
   * Compares two signed checkpoints of the log, building the consistency proof from the log's
   * tiles of the larger tree.
   */
  private async compare(
    x: View,
    y: View,
    client: TlogClient,
    key: VerifierKey,
  ): Promise<Comparison> {
    const [small, large] = x.checkpoint.size <= y.checkpoint.size ? [x, y] : [y, x];
    const s = small.checkpoint;
    const l = large.checkpoint;
    const evidence = (
      kind: ForkEvidence['kind'],
      reason: string,
      extra: Partial<ForkEvidence> = {},
    ): Comparison => ({
      status: 'inconsistent',
      evidence: {
        type: FORK_EVIDENCE_TYPE,
        kind,
        origin: s.origin,
        logKey: key.vkey,
        detectedAt: rfc3339(this.now()),
        reason,
        a: { source: small.source, checkpoint: small.note },
        b: { source: large.source, checkpoint: large.note },
        ...extra,
      },
    });
    if (s.size === l.size) {
      if (bytesEqual(s.rootHash, l.rootHash)) return { status: 'consistent' };
      return evidence(
        'same-size',
        `two roots for tree size ${s.size}: ${toBase64(s.rootHash)} (${small.source}) and ` +
          `${toBase64(l.rootHash)} (${large.source})`,
      );
    }
    if (s.size === 0) {
      if (bytesEqual(s.rootHash, emptyRoot())) return { status: 'consistent' };
      return evidence('inconsistent', `size 0 signed with a non-empty root (${small.source})`);
    }
    let proof: Uint8Array[];
    let node: Uint8Array | undefined;
    try {
      const tiles = client.tiles(l.size);
      proof = await consistencyProofFromTiles(s.size, l.size, tiles);
      if (isPowerOfTwo(s.size)) node = await nodeFromTiles(Math.log2(s.size), 0, tiles);
    } catch (e) {
      return {
        status: 'unresolved',
        detail: `no consistency proof ${s.size} → ${l.size} from the log's tiles: ${(e as Error).message}`,
      };
    }
    const roots = rootsFromConsistencyProof(s.size, l.size, proof, node);
    if (!bytesEqual(roots.newRoot, l.rootHash)) {
      return {
        status: 'unresolved',
        detail: `the log's tiles at size ${l.size} do not give the root signed in ${large.source}`,
      };
    }
    if (bytesEqual(roots.oldRoot, s.rootHash)) return { status: 'consistent' };
    return evidence(
      'inconsistent',
      `the tree signed at size ${l.size} (${large.source}) has root ${toBase64(roots.oldRoot)} at size ` +
        `${s.size}, but the log also signed ${toBase64(s.rootHash)} for size ${s.size} (${small.source})`,
      {
        proof: proof.map(toBase64),
        ...(node !== undefined ? { oldRootInB: toBase64(node) } : {}),
      },
    );
  }

  private async witnessView(
    url: string,
    origin: string,
    key: VerifierKey,
  ): Promise<View | WitnessViewReport> {
    const u = joinUrl(url, `${originHash(origin)}/checkpoint`);
    let res: Response;
    let text: string;
    try {
      res = await this.f(u);
      text = await res.text();
    } catch (e) {
      return { url, status: 'unreachable', detail: (e as Error).message };
    }
    if (res.status === 404) return { url, status: 'not-cosigned' };
    if (!res.ok) return { url, status: 'unreachable', detail: `HTTP ${res.status}` };
    try {
      const { checkpoint } = openCheckpoint(text, key, this.witnessKeys, { origin });
      return { source: `witness ${url}`, note: text, checkpoint };
    } catch (e) {
      return {
        url,
        status: 'invalid',
        detail: `the witness's checkpoint does not verify with the log key: ${(e as Error).message}`,
      };
    }
  }

  private async writeEvidence(e: ForkEvidence): Promise<string> {
    const dir = this.cfg.evidenceDir ?? '.';
    await mkdir(dir, { recursive: true });
    const stamp = e.detectedAt.replace(/[-:]/g, '');
    const name = `fork-evidence-${originHash(e.origin).slice(0, 12)}-${stamp}.json`;
    const path = join(dir, name);
    const tmp = `${path}.tmp`;
    await writeFile(tmp, `${JSON.stringify(e, null, 2)}\n`);
    await rename(tmp, path);
    return path;
  }

  /**
   * Fetches the log's checkpoint and checks it once: tiles against its root, consistency with the
   * last checkpoint seen and with every witness's view. Writes evidence and reports `fork` on an
   * inconsistency; otherwise records the checkpoint as the last seen (never a smaller one).
   * @throws {VPauseError} LOG_UNREACHABLE / LOG_BAD_RESPONSE when the log cannot be read,
   *   MONITOR_UNKNOWN_LOG, MONITOR_STATE_INVALID, or the note/checkpoint codes when the served
   *   checkpoint does not verify
   */
  async checkOnce(): Promise<MonitorReport> {
    const logUrl = this.cfg.logUrl;
    const first = await this.fetchCheckpointText();
    const key = this.keyFor(first);
    await this.loadState(key);
    const client = this.client(key);
    const fetched: FetchedCheckpoint = client.open(first);
    const cur: View = {
      source: `log ${logUrl}`,
      note: fetched.text,
      checkpoint: fetched.checkpoint,
    };
    const cp = cur.checkpoint;
    const cos = verifiedCosignatures(fetched.note, fetched.note.text, this.witnessKeys);
    const cosignedBy = cos
      .map((c) => findWitness(this.cfg.policy, c.key.name, c.key.keyId)?.name)
      .filter((n): n is string => n !== undefined);
    const report: MonitorReport = {
      status: 'ok',
      origin: cp.origin,
      size: cp.size,
      rootHash: toBase64(cp.rootHash),
      quorum: evaluateQuorum(this.cfg.policy, new Set(cosignedBy)),
      cosignedBy,
      witnesses: [],
      warnings: [],
    };
    if (!report.quorum) {
      report.warnings.push(
        `checkpoint ${cp.size} does not carry the policy's quorum of cosignatures`,
      );
    }
    const fork = async (e: ForkEvidence): Promise<MonitorReport> => {
      report.status = 'fork';
      report.evidence = e;
      report.evidencePath = await this.writeEvidence(e);
      this.log.error({ path: report.evidencePath, reason: e.reason }, 'fork evidence written');
      return report;
    };

    try {
      await client.verifyTree(cp.size, cp.rootHash);
    } catch (e) {
      if (!isVPauseError(e, 'LOG_INCONSISTENT')) throw e;
      return fork({
        type: FORK_EVIDENCE_TYPE,
        kind: 'tiles-mismatch',
        origin: cp.origin,
        logKey: key.vkey,
        detectedAt: rfc3339(this.now()),
        reason: `the log's tiles of size ${cp.size} do not give its signed root`,
        a: { source: cur.source, checkpoint: cur.note },
        b: { source: cur.source, checkpoint: cur.note },
      });
    }

    const prev = this.last;
    if (prev !== undefined) {
      const c = await this.compare(prev, cur, client, key);
      if (c.status === 'inconsistent') {
        report.previous = { size: prev.checkpoint.size, status: 'inconsistent' };
        return fork(c.evidence);
      }
      report.previous = {
        size: prev.checkpoint.size,
        status: c.status,
        ...(c.status === 'unresolved' ? { detail: c.detail } : {}),
      };
      if (c.status === 'unresolved') report.warnings.push(c.detail);
      if (cp.size < prev.checkpoint.size) {
        report.warnings.push(
          `the log serves size ${cp.size}, smaller than the ${prev.checkpoint.size} it served before`,
        );
      }
    }

    for (const url of this.witnessUrls) {
      const v = await this.witnessView(url, cp.origin, key);
      if (!('note' in v)) {
        report.witnesses.push(v);
        if (v.status === 'invalid' || v.status === 'unreachable') {
          report.warnings.push(`witness ${url}: ${v.status}${v.detail ? `: ${v.detail}` : ''}`);
        }
        continue;
      }
      const c = await this.compare(v, cur, client, key);
      const r: WitnessViewReport = { url, status: c.status, size: v.checkpoint.size };
      if (c.status === 'unresolved') {
        r.detail = c.detail;
        report.warnings.push(`witness ${url}: ${c.detail}`);
      }
      report.witnesses.push(r);
      if (c.status === 'inconsistent') return fork(c.evidence);
    }

    if (prev === undefined || cp.size >= prev.checkpoint.size) {
      this.last = cur;
      await this.saveState(key, cur);
    }
    return report;
  }

  private async fetchCheckpointText(): Promise<string> {
    let r: Response;
    try {
      r = await this.f(joinUrl(this.cfg.logUrl, 'checkpoint'));
    } catch (cause) {
      throw new VPauseError(
        'LOG_UNREACHABLE',
        `cannot reach ${this.cfg.logUrl}: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    if (!r.ok) throw new VPauseError('LOG_BAD_RESPONSE', `GET checkpoint: HTTP ${r.status}`);
    return r.text();
  }

  /**
   * Checks every `intervalMs` until a fork is found (resolves with that report) or `signal`
   * aborts (resolves with the last report, undefined if none). Errors of one check (the log
   * unreachable, …) are logged and the next check goes on.
   */
  async run(
    intervalMs: number,
    signal: AbortSignal,
    onReport?: (r: MonitorReport) => void,
  ): Promise<MonitorReport | undefined> {
    let last: MonitorReport | undefined;
    while (!signal.aborted) {
      try {
        last = await this.checkOnce();
        onReport?.(last);
        if (last.status === 'fork') return last;
      } catch (e) {
        this.log.warn({ err: e }, 'monitor check failed');
        if (isVPauseError(e, 'MONITOR_STATE_INVALID')) throw e;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, intervalMs);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
    return last;
  }
}
