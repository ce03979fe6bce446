/**
 * The log's witness client (C2SP tlog-witness, client side): the publication stage that gets
 * each new checkpoint cosigned by the witnesses of a tlog-policy, and hands the log a note to
 * serve only once the cosignatures meet the policy's quorum.
 *
 * Rounds. A round targets one signed checkpoint and sends it to every witness of the policy that
 * has a URL, in parallel, each with an RFC 6962 consistency proof from the size that witness last
 * cosigned (taken from the log's own tiles through `consistencyProof`). A witness that answers
 * 409 reports its size, and the request is repeated at once from that size (resync); any other
 * failure is retried with exponential backoff and full jitter, except two that are final for the
 * checkpoint: a 422 (the witness holds a history this checkpoint does not extend) and a witness
 * already beyond its size; when those leave the quorum out of reach, the round gives the
 * checkpoint up (logged as an error: the log or a twin sharing its key has forked). As soon as
 * the cosignatures meet
 * the quorum (`evaluateQuorum`), `onPublish(size, note)` receives the checkpoint with the log's
 * signature and the cosignatures; later cosignatures of the same round publish it again with
 * more lines. A newer checkpoint supersedes the round once the round has met its quorum, or
 * after `roundTimeoutMs` without it; until then the round keeps its target, so that slow
 * witnesses converge on one checkpoint instead of chasing the newest.
 *
 * Never blocking the log. `publish` (the LogService hook) only records the newest checkpoint and
 * returns at once: undefined (nothing new to serve yet) or, under `quorum none`, the checkpoint
 * itself. Sequencing and integration go on whatever the witnesses do; an unwitnessed checkpoint
 * is never handed to `onPublish`.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { bytesEqual } from '../core/bytes.js';
import { VPauseError } from '../core/errors.js';
import type { VerifierKey } from '../note/keys.js';
import { formatSignatureLine, parseNote } from '../note/note.js';
import {
  evaluateQuorum,
  type PolicyWitness,
  parseTlogPolicy,
  QUORUM_NONE,
  type TlogPolicy,
} from '../policy/tlog-policy.js';
import { parseCheckpoint } from '../tlog/checkpoint.js';
import { verifyCosignature } from '../tlog/cosignature.js';
import { silentLogger } from '../util/logger.js';
import {
  formatAddCheckpointRequest,
  joinUrl,
  parseTlogSize,
  splitCosignatureLines,
  TLOG_SIZE_CONTENT_TYPE,
} from '../witness/protocol.js';

/**
 * Codes of this module.
 * - WITNESS_POLICY_UNSATISFIABLE: the witnesses with URLs cannot meet the quorum even together
 */
export type WitnessClientErrorCode = 'WITNESS_POLICY_UNSATISFIABLE';

/** Why one add-checkpoint attempt failed (the `reason` label of the failure counter). */
export type WitnessFailureReason =
  | 'network'
  | 'timeout'
  | 'http_400'
  | 'http_403'
  | 'http_404'
  | 'http_422'
  | 'http_other'
  | 'conflict'
  | 'ahead'
  | 'bad_response'
  | 'proof';

export interface WitnessClientConfig {
  policy: TlogPolicy;
  /** RFC 6962 consistency proof from `oldSize` to `size` in the log's own tree. */
  consistencyProof: (oldSize: number, size: number) => Promise<Uint8Array[]>;
  /** Receives each checkpoint that meets the quorum, with the log signature and cosignatures. */
  onPublish: (size: number, note: string) => void;
  /** The log's own key, to warn when the policy does not list it. */
  logKey?: VerifierKey;
  fetch?: typeof fetch;
  /** Uniform [0, 1) randomness for the backoff jitter. Default Math.random. */
  random?: () => number;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
  /** Abortable sleep. Default setTimeout. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
  /** Registry for the witness metrics (the log's own registry). */
  registry?: Registry;
  /** First retry delay cap. Default 100 ms. */
  backoffBaseMs?: number;
  /** Largest retry delay cap. Default 5,000 ms. */
  backoffMaxMs?: number;
  /** Time limit of one HTTP request. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** How long a round without quorum keeps its target when a newer checkpoint exists. Default 30 s. */
  roundTimeoutMs?: number;
  /** 409 resyncs in a row before counting a failure. Default 3. */
  maxResyncs?: number;
}

/** What the client knows of one witness. */
export interface WitnessState {
  name: string;
  url: string;
  /** The size the witness last cosigned, as far as the client knows (undefined: not yet known). */
  size: number | undefined;
  failures: number;
  lastError: string | undefined;
}

interface Target {
  /** The signed checkpoint as the log signed it. */
  note: string;
  text: string;
  size: number;
  rootHash: Uint8Array;
}

interface Round {
  target: Target;
  cosigs: Map<string, string>;
  /** Witnesses that can never cosign this target (ahead of it, or refusing it with 422). */
  refused: Set<string>;
  quorum: boolean;
  abort: AbortController;
  startedAt: number;
}

class AttemptError extends Error {
  constructor(
    readonly reason: WitnessFailureReason,
    message: string,
  ) {
    super(message);
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The witness client. Construct it, pass `publish` to the LogService as its publication hook,
 * and `close()` it before the service.
 */
export class WitnessClient {
  private readonly cfg: WitnessClientConfig;
  private readonly witnesses: (PolicyWitness & { url: string })[];
  private readonly states = new Map<string, WitnessState>();
  private readonly f: typeof fetch;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly log: Logger;
  private readonly m:
    | {
        size: Gauge<'witness'>;
        up: Gauge<'witness'>;
        failures: Counter<'witness' | 'reason'>;
        cosignatures: Counter<'witness'>;
        witnessed: Gauge;
        quorumSeconds: Histogram;
      }
    | undefined;
  private latest: Target | undefined;
  private round: Round | undefined;
  private closed = false;
  private readonly closing = new AbortController();
  private waiters: (() => void)[] = [];
  private readonly loop: Promise<void>;
  private readonly quorumNone: boolean;

  /**
   * @throws {VPauseError<WitnessClientErrorCode>} WITNESS_POLICY_UNSATISFIABLE when the policy's
   *   witnesses that have a URL cannot meet its quorum
   */
  constructor(cfg: WitnessClientConfig) {
    this.cfg = cfg;
    this.f = cfg.fetch ?? fetch;
    this.random = cfg.random ?? Math.random;
    this.now = cfg.now ?? Date.now;
    this.sleep = cfg.sleep ?? defaultSleep;
    this.log = cfg.logger ?? silentLogger();
    this.quorumNone = cfg.policy.quorum === QUORUM_NONE;
    this.witnesses = [];
    for (const w of cfg.policy.witnesses.values()) {
      if (w.url === undefined) {
        this.log.warn({ witness: w.name }, 'policy witness has no URL: it cannot be asked');
        continue;
      }
      this.witnesses.push({ ...w, url: w.url });
      this.states.set(w.name, {
        name: w.name,
        url: w.url,
        size: undefined,
        failures: 0,
        lastError: undefined,
      });
    }
    if (!evaluateQuorum(cfg.policy, new Set(this.witnesses.map((w) => w.name)))) {
      throw new VPauseError<WitnessClientErrorCode>(
        'WITNESS_POLICY_UNSATISFIABLE',
        'the witnesses with URLs in the policy cannot meet its quorum',
      );
    }
    if (
      cfg.logKey !== undefined &&
      cfg.policy.logs.length > 0 &&
      !cfg.policy.logs.some((l) => bytesEqual(l.key.publicKey, cfg.logKey!.publicKey))
    ) {
      this.log.warn({ key: cfg.logKey.vkey }, "the witness policy does not list this log's key");
    }
    if (cfg.registry !== undefined) {
      const registers = [cfg.registry];
      this.m = {
        size: new Gauge({
          name: 'vpause_log_witness_cosigned_size',
          help: 'The tree size each witness last cosigned (or reported in a 409)',
          labelNames: ['witness'],
          registers,
        }),
        up: new Gauge({
          name: 'vpause_log_witness_up',
          help: '1 when the last add-checkpoint to the witness succeeded',
          labelNames: ['witness'],
          registers,
        }),
        failures: new Counter({
          name: 'vpause_log_witness_failures_total',
          help: 'Failed add-checkpoint attempts, by witness and reason',
          labelNames: ['witness', 'reason'],
          registers,
        }),
        cosignatures: new Counter({
          name: 'vpause_log_witness_cosignatures_total',
          help: 'Cosignatures received and verified, by witness',
          labelNames: ['witness'],
          registers,
        }),
        witnessed: new Gauge({
          name: 'vpause_log_witnessed_size',
          help: 'Size of the latest checkpoint whose cosignatures met the policy quorum',
          registers,
        }),
        quorumSeconds: new Histogram({
          name: 'vpause_log_witness_quorum_seconds',
          help: 'Time from the start of a witnessing round to its quorum',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
      };
      for (const w of this.witnesses) {
        this.m.up.set({ witness: w.name }, 0);
        this.m.failures.inc({ witness: w.name, reason: 'network' }, 0);
      }
    }
    this.loop = this.run();
  }

  /**
   * The LogService publication hook: records `signedCheckpoint` as the newest checkpoint to
   * witness and returns at once, with undefined (the note to serve comes later through
   * `onPublish`) or, under `quorum none`, the checkpoint itself.
   * After close it returns undefined and does nothing.
   * @throws {VPauseError} CHECKPOINT_MALFORMED / NOTE_MALFORMED for a note that is not a checkpoint
   */
  publish = async (signedCheckpoint: string): Promise<string | undefined> => {
    // The log may sign once more while shutting down: nothing is witnessed or served then.
    if (this.closed) return undefined;
    const text = parseNote(signedCheckpoint).text;
    const cp = parseCheckpoint(text);
    if (this.latest === undefined || cp.size > this.latest.size) {
      this.latest = { note: signedCheckpoint, text, size: cp.size, rootHash: cp.rootHash };
      this.notify();
    }
    return this.quorumNone ? signedCheckpoint : undefined;
  };

  /** What the client knows of each witness. */
  state(): WitnessState[] {
    return [...this.states.values()].map((s) => ({ ...s }));
  }

  /** Stops all rounds; pending requests are aborted. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.round?.abort.abort();
    this.notify();
    await this.loop;
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async run(): Promise<void> {
    let last: Target | undefined;
    while (!this.closed) {
      const t = this.latest;
      if (t === undefined || t === last) {
        await this.changed();
        continue;
      }
      last = t;
      try {
        await this.runRound(t);
      } catch (e) {
        this.log.error({ err: e }, 'witnessing round failed');
      }
    }
  }

  private async runRound(target: Target): Promise<void> {
    const round: Round = {
      target,
      cosigs: new Map(),
      refused: new Set(),
      quorum: false,
      abort: new AbortController(),
      startedAt: this.now(),
    };
    this.round = round;
    let settled = 0;
    const workers = this.witnesses.map((w) =>
      this.worker(w, round).finally(() => {
        settled++;
        this.notify();
      }),
    );
    const timeout = this.cfg.roundTimeoutMs ?? 30_000;
    // Armed once a newer checkpoint exists: wakes the round when its time is up.
    let deadline: Promise<void> | undefined;
    let timedOut = false;
    const all = this.witnesses.map((w) => w.name);
    while (!this.closed && settled < workers.length) {
      const newer = this.latest !== target;
      const elapsed = this.now() - round.startedAt;
      if (newer && (round.quorum || timedOut || elapsed >= timeout)) break;
      const possible = new Set(all.filter((n) => !round.refused.has(n)));
      if (!round.quorum && !evaluateQuorum(this.cfg.policy, possible)) {
        this.log.error(
          { size: target.size, refused: [...round.refused] },
          'witnesses refuse this checkpoint: it cannot reach the quorum',
        );
        break;
      }
      if (newer && deadline === undefined) {
        deadline = this.sleep(Math.max(0, timeout - elapsed), round.abort.signal).then(() => {
          timedOut = true;
        });
      }
      await Promise.race(deadline === undefined ? [this.changed()] : [this.changed(), deadline]);
    }
    round.abort.abort();
    this.notify();
    await Promise.allSettled(workers);
  }

  private backoff(attempt: number): number {
    const base = this.cfg.backoffBaseMs ?? 100;
    const max = this.cfg.backoffMaxMs ?? 5_000;
    const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
    return Math.floor(this.random() * cap);
  }

  /** Gets one witness's cosignature on the round's target; retries until it does or the round ends. */
  private async worker(w: PolicyWitness & { url: string }, round: Round): Promise<void> {
    const st = this.states.get(w.name)!;
    const signal = round.abort.signal;
    const t = round.target;
    let attempt = 0;
    let resyncs = 0;
    while (!signal.aborted) {
      try {
        const line = await this.attempt(w, st, t, signal);
        if (signal.aborted) return;
        if (line === undefined) {
          // 409: the witness told us its size; ask again from there.
          if (++resyncs <= (this.cfg.maxResyncs ?? 3)) continue;
          throw new AttemptError('conflict', `still out of sync after ${resyncs - 1} resyncs`);
        }
        st.size = t.size;
        st.lastError = undefined;
        this.m?.size.set({ witness: w.name }, t.size);
        this.m?.up.set({ witness: w.name }, 1);
        this.m?.cosignatures.inc({ witness: w.name });
        round.cosigs.set(w.name, line);
        this.cosigned(round);
        return;
      } catch (e) {
        if (signal.aborted) return;
        const reason = e instanceof AttemptError ? e.reason : 'proof';
        st.failures++;
        st.lastError = (e as Error).message;
        this.m?.failures.inc({ witness: w.name, reason });
        this.m?.up.set({ witness: w.name }, 0);
        if (reason === 'http_422' || reason === 'ahead') {
          // Final for this checkpoint: the witness holds a history this checkpoint does not
          // extend. A later checkpoint gets a new round.
          this.log.error(
            { witness: w.name, url: w.url, size: t.size, reason, err: (e as Error).message },
            'witness refuses the checkpoint as inconsistent with what it cosigned',
          );
          round.refused.add(w.name);
          return;
        }
        this.log.warn(
          { witness: w.name, url: w.url, size: t.size, reason, err: (e as Error).message },
          'add-checkpoint failed; retrying',
        );
        resyncs = 0;
        await this.sleep(this.backoff(attempt++), signal);
      }
    }
  }

  /**
   * One add-checkpoint request. Resolves with the verified cosignature line, or undefined after a
   * 409 (the witness's size is then updated).
   * @throws {AttemptError} for any other outcome
   */
  private async attempt(
    w: PolicyWitness & { url: string },
    st: WitnessState,
    t: Target,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const old = st.size ?? 0;
    if (old > t.size) {
      throw new AttemptError(
        'ahead',
        `witness cosigned size ${old}, beyond this checkpoint's ${t.size}: another history?`,
      );
    }
    let proof: Uint8Array[] = [];
    if (old !== 0 && old !== t.size) {
      try {
        proof = await this.cfg.consistencyProof(old, t.size);
      } catch (e) {
        throw new AttemptError('proof', `no consistency proof ${old} → ${t.size}: ${e}`);
      }
    }
    const body = formatAddCheckpointRequest(old, proof, t.note);
    let res: Response;
    let text: string;
    const timeout = AbortSignal.timeout(this.cfg.requestTimeoutMs ?? 10_000);
    try {
      res = await this.f(joinUrl(w.url, 'add-checkpoint'), {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.any([signal, timeout]),
      });
      text = await res.text();
    } catch (e) {
      throw new AttemptError(
        timeout.aborted ? 'timeout' : 'network',
        `cannot reach ${w.url}: ${(e as Error).message}`,
      );
    }
    if (res.status === 200) return this.verifyAnswer(w, t, text);
    if (res.status === 409) {
      const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
      let size: number;
      try {
        if (type !== TLOG_SIZE_CONTENT_TYPE) throw new Error(`content type ${type}`);
        size = parseTlogSize(text);
      } catch (e) {
        throw new AttemptError('bad_response', `malformed 409 answer: ${(e as Error).message}`);
      }
      st.size = size;
      this.m?.size.set({ witness: w.name }, size);
      this.log.info({ witness: w.name, size }, 'witness resync (409)');
      return undefined;
    }
    const reason: WitnessFailureReason =
      res.status === 400 || res.status === 403 || res.status === 404 || res.status === 422
        ? (`http_${res.status}` as WitnessFailureReason)
        : 'http_other';
    throw new AttemptError(reason, `HTTP ${res.status}: ${text.split('\n')[0]!.slice(0, 200)}`);
  }

  /** Finds and verifies the witness's cosignature among the answer's lines. */
  private verifyAnswer(w: PolicyWitness, t: Target, body: string): string {
    try {
      const lines = splitCosignatureLines(body);
      const sigs = parseNote(`${t.text}\n${lines.join('')}`).signatures;
      for (const s of sigs) {
        if (s.name !== w.key.name || !bytesEqual(s.keyId, w.key.keyId)) continue;
        if (verifyCosignature(t.text, s, w.key) !== undefined) return formatSignatureLine(s);
        throw new Error('the cosignature by the witness key does not verify');
      }
      throw new Error('no cosignature by the witness key in the answer');
    } catch (e) {
      throw new AttemptError('bad_response', (e as Error).message);
    }
  }

  /** Publishes the round's checkpoint once (and again with each later cosignature) at quorum. */
  private cosigned(round: Round): void {
    if (!evaluateQuorum(this.cfg.policy, new Set(round.cosigs.keys()))) return;
    if (!round.quorum) {
      round.quorum = true;
      this.m?.quorumSeconds.observe((this.now() - round.startedAt) / 1000);
      this.m?.witnessed.set(round.target.size);
      this.log.info({ size: round.target.size }, 'checkpoint cosigned to quorum');
    }
    const lines = this.witnesses
      .map((w) => round.cosigs.get(w.name))
      .filter((l): l is string => l !== undefined)
      .join('');
    try {
      this.cfg.onPublish(round.target.size, `${round.target.note}${lines}`);
    } catch (e) {
      this.log.error({ err: e }, 'publishing the cosigned checkpoint failed');
    }
    this.notify();
  }
}

/**
 * Reads a tlog-policy file and starts a witness client for it.
 * @throws {PolicyError} for a policy file that does not parse
 * @throws {VPauseError<WitnessClientErrorCode>} WITNESS_POLICY_UNSATISFIABLE
 * @throws {Error} when the file cannot be read
 */
export async function createWitnessClient(
  policyPath: string,
  cfg: Omit<WitnessClientConfig, 'policy'>,
): Promise<WitnessClient> {
  const policy = parseTlogPolicy(await readFile(policyPath, 'utf8'), { file: policyPath });
  return new WitnessClient({ ...cfg, policy });
}
