/**
 * The run's log and witnesses, in process, on the simulated clock (full mode).
 *
 * The log is the project's LogService over MemoryStorage: statements are admitted (signature,
 * registered node key, ADMIT.txt), sequenced and integrated into tiles, and checkpoints signed,
 * exactly as in production; the simulator only decides when integration runs (every
 * `checkpointSeconds` of simulated time). The publication stage — what the log's witness client
 * does over HTTP — is played here: each new checkpoint goes to every witness (the project's
 * Witness, C2SP tlog-witness add-checkpoint with a consistency proof from the log's own tiles),
 * whose cosignature carries the simulated time, and the cosigned note is what the log serves.
 *
 * A forking operator runs two LogServices with one key: the main history, cosigned by the honest
 * witnesses and served to everyone else, and the verifier's history, cosigned by the colluding
 * witnesses. Until the histories part they are byte for byte the same, and so is every checkpoint
 * (Ed25519 signatures are deterministic), which then carries every witness's cosignature.
 *
 * `fetch` serves what the verifier reaches over HTTP: the log's tlog-tiles surface (its history)
 * and each witness's monitoring read.
 */

import type { AdmitIndex } from '../log/admission.js';
import { createLogMetrics, type LogMetrics } from '../log/metrics.js';
import { LogService } from '../log/service.js';
import { MemoryStorage } from '../log/storage/memory.js';
import { parseTilePath } from '../merkle/tiles.js';
import { verifierKeyOf } from '../note/keys.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import { silentLogger } from '../util/logger.js';
import { formatAddCheckpointRequest, splitCosignatureLines } from '../witness/protocol.js';
import { MemoryWitnessStore } from '../witness/store.js';
import { Witness } from '../witness/witness.js';
import { LOG_ORIGIN, LOG_URL, type SimKeys, type SimStatement, witnessUrl } from './statements.js';

interface Branch {
  svc: LogService;
  /** the checkpoint signed by the last integration, not cosigned yet */
  signed: string | undefined;
  /** the last signed checkpoint's body and cosignature lines by witness */
  text: string | undefined;
  lines: Map<string, string>;
  note: string | undefined;
  /** the note served: the checkpoint with its cosignatures */
  served: string | undefined;
  size: number;
  witnesses: { name: string; witness: Witness }[];
}

let sharedMetrics: LogMetrics | undefined;

/** The log, its witnesses and their HTTP surfaces for one run. */
export class SimLog {
  readonly main: Branch;
  readonly fork: Branch | undefined;
  /** statements the log refused (admission, seq conflicts), by code */
  readonly refused = new Map<string, number>();
  private nowMs: number;

  constructor(
    keys: SimKeys,
    admit: AdmitIndex,
    fork: { colluders: number } | undefined,
    startMs: number,
  ) {
    this.nowMs = startMs;
    sharedMetrics ??= createLogMetrics(undefined, false);
    const now = () => this.nowMs;
    const logKey = verifierKeyOf(keys.log.signer);
    const witness = (w: SimKeys['witnesses'][number]) => ({
      name: w.name,
      witness: new Witness({
        signer: w.signer,
        logs: [logKey],
        store: new MemoryWitnessStore(),
        now,
        logger: silentLogger(),
      }),
    });
    const branch = (ws: SimKeys['witnesses']): Branch => {
      const b: Branch = {
        svc: undefined as unknown as LogService,
        signed: undefined,
        text: undefined,
        lines: new Map(),
        note: undefined,
        served: undefined,
        size: 0,
        witnesses: ws.map(witness),
      };
      b.svc = new LogService({
        storage: new MemoryStorage({ now }),
        signer: keys.log.signer,
        origin: LOG_ORIGIN,
        admit,
        logger: silentLogger(),
        metrics: sharedMetrics!,
        sequencer: false,
        publish: async (cp) => {
          b.signed = cp;
          return undefined;
        },
      });
      return b;
    };
    const c = fork?.colluders ?? 0;
    const n = keys.witnesses.length;
    this.main = branch(fork === undefined ? keys.witnesses : keys.witnesses.slice(0, n - c));
    this.fork = fork === undefined ? undefined : branch(keys.witnesses.slice(n - c));
  }

  /** Sets the simulated clock (ms). */
  setNow(ms: number): void {
    this.nowMs = ms;
  }

  /** The history the verifier is shown. */
  get verifierBranch(): Branch {
    return this.fork ?? this.main;
  }

  /** Appends statements (each to the histories it belongs to). */
  async submit(stmts: readonly SimStatement[]): Promise<void> {
    for (const b of [this.main, this.fork]) {
      if (b === undefined) continue;
      const mine = stmts.filter(
        (s) => s.branch === 'both' || (b === this.main ? s.branch === 'main' : s.branch === 'fork'),
      );
      if (mine.length === 0) continue;
      const res = await b.svc.submitBatch(mine.map((s) => s.entry!));
      for (const r of res) {
        if ('error' in r) this.refused.set(r.error.code, (this.refused.get(r.error.code) ?? 0) + 1);
      }
    }
  }

  /**
   * Integrates what is pending in each history; a new checkpoint is cosigned by the history's
   * witnesses at the current time. Resolves with whether any history grew.
   * @throws {Error} when a witness refuses a checkpoint of its own history (a bug)
   */
  async checkpoint(): Promise<boolean> {
    let grew = false;
    for (const b of [this.main, this.fork]) {
      if (b === undefined) continue;
      b.signed = undefined;
      await b.svc.integrateOnce();
      const cp = b.signed as string | undefined;
      // Without a publication the service offers its stored checkpoint again: not a new one.
      if (cp === undefined || cp === b.note) continue;
      grew = true;
      const text = cp.slice(0, cp.indexOf('\n\n') + 1);
      const size = parseCheckpoint(text).size;
      const lines = new Map<string, string>();
      for (const w of b.witnesses) {
        const old = w.witness.latest(b.svc.origin)?.size ?? 0;
        const proof = old > 0 && old < size ? await b.svc.consistencyProof(old, size) : [];
        const out = await w.witness.addCheckpoint(formatAddCheckpointRequest(old, proof, cp));
        if (out.status !== 200)
          throw new Error(`witness ${w.name} refused checkpoint ${size}: ${out.reason}`);
        lines.set(w.name, splitCosignatureLines(out.body).join(''));
      }
      b.text = text;
      b.lines = lines;
      b.size = size;
      b.note = cp;
    }
    // Serve each history's checkpoint with its cosignatures — and with the other history's
    // while the two checkpoints are the same.
    for (const b of [this.main, this.fork]) {
      if (b?.note === undefined) continue;
      const other = b === this.main ? this.fork : this.main;
      const lines = new Map(b.lines);
      if (other !== undefined && other.text === b.text)
        for (const [k, v] of other.lines) lines.set(k, v);
      const names = [...lines.keys()].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1)));
      b.served = `${b.note}${names.map((k) => lines.get(k)).join('')}`;
    }
    return grew;
  }

  /** The checkpoint note served to the verifier. */
  servedNote(): string | undefined {
    return this.verifierBranch.served;
  }

  /** The log's and the witnesses' HTTP surfaces, as the verifier reaches them. */
  readonly fetch: typeof fetch = async (input) => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
    );
    const text = (body: string | Uint8Array | undefined, type = 'text/plain; charset=utf-8') =>
      body === undefined
        ? new Response('not found\n', { status: 404 })
        : new Response(body, { status: 200, headers: { 'content-type': type } });
    if (`${url.protocol}//${url.host}` === LOG_URL) {
      const path = url.pathname.replace(/^\/+/, '');
      const b = this.verifierBranch;
      if (path === 'checkpoint') return text(b.served);
      try {
        const t = parseTilePath(path);
        const data = t.entries
          ? await b.svc.entryBundle(t.index, t.width)
          : await b.svc.tile(t.level, t.index, t.width);
        return text(data, 'application/octet-stream');
      } catch {
        return text(undefined);
      }
    }
    for (const b of [this.main, this.fork]) {
      for (const w of b?.witnesses ?? []) {
        if (`${url.protocol}//${url.host}` !== witnessUrl(w.name)) continue;
        const [hash, leaf] = url.pathname.replace(/^\/+/, '').split('/');
        if (leaf !== 'checkpoint' || hash === undefined) return text(undefined);
        return text(w.witness.checkpointByOriginHash(hash));
      }
    }
    return new Response('unknown host\n', { status: 404 });
  };

  /** The witnesses' monitoring URLs. */
  witnessUrls(): string[] {
    return [this.main, this.fork].flatMap(
      (b) => b?.witnesses.map((w) => `${witnessUrl(w.name)}/`) ?? [],
    );
  }

  async close(): Promise<void> {
    await this.main.svc.close();
    await this.fork?.svc.close();
  }
}
