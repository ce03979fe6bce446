/**
 * The one place the simulator calls the verifier (src/verifier/, issue 6) and the split-view
 * monitor (src/monitor/). Nothing here decides anything: the verdicts are the verifier's own.
 *
 * Full mode: the verifier follows the log exactly as `vpause verify` does — a LogFollower over
 * the tlog-tiles read API (served in process by the run's LogService through an injected fetch):
 * it checks every checkpoint's signature and cosignatures against the policy, folds the entries
 * into its compact range, decodes every entry and checks every signature. With witness gossip,
 * the Monitor also compares the log with the checkpoint each witness holds (tlog-witness
 * monitoring read), and any fork evidence it finds goes to the verdict. The verdict is
 * `evaluatePause`, the verifier's pure core, on the follower's index, timeline and anchor.
 *
 * Fast mode: the same `evaluatePause` on an index built directly from the run's statements, with
 * each signature outcome set by construction (the simulator knows which key signed what) and
 * checkpoints observed with the witness times the run gives them. No signature is made or
 * checked, no Merkle tree is built: leaf hashes and roots are synthetic stand-ins, so verdict fields
 * that quote them (leaf hashes, checkpoint roots) differ from full mode; everything the results
 * use — verdicts, finding codes, subjects, detection bounds — is the same (tests/sim prove it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload, PayloadType } from '../../protocol/src/schemas.js';
import type { Verdict } from '../../protocol/src/verdict.js';
import { toHex } from '../core/bytes.js';
import { sha256 } from '../crypto/sha256.js';
import type { ForkEvidence } from '../monitor/evidence.js';
import { Monitor } from '../monitor/monitor.js';
import { keyIdString, parseVerifierKey } from '../note/keys.js';
import { evaluateQuorum } from '../policy/tlog-policy.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { evaluatePause } from '../verifier/evaluate.js';
import { LogIndex, type StatementRecord } from '../verifier/log-index.js';
import { LogFollower } from '../verifier/sync.js';
import { type ObservedCheckpoint, WitnessTimeline } from '../verifier/timeline.js';

/** What the simulator asks: lab L's pause P over [pause start, to), as of `asOf`. */
export interface SimQuestion {
  lab: string;
  pause: string;
  /** POSIX seconds (default: asOf) */
  to?: number;
  asOf: number;
  /** evaluate under another physics false-alarm rate (the ROC sweep); default the policy's */
  alpha?: number;
}

/** The verifier as the simulator drives it. */
export interface SimVerifier {
  /**
   * Reads the log as it is now (full: over the tiles API; fast: the checkpoint given).
   * @throws {VPauseError} the follower's LOG_BAD_RESPONSE and checkpoint codes (a bug in the run)
   */
  sync(): Promise<void>;
  /**
   * Checks the log against the witnesses' checkpoints (full mode, witness gossip).
   * @throws {VPauseError} the monitor's codes when the log cannot be read
   */
  gossip(): Promise<void>;
  /**
   * The verdict on a question, from what has been synced.
   * @throws {VerifierError} PAUSE_NOT_FOUND before the pause is logged, QUESTION_INVALID
   */
  evaluate(q: SimQuestion): Verdict;
  close(): Promise<void>;
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function evaluateWith(
  policy: VPausePolicy,
  view: {
    index: LogIndex;
    timeline: WitnessTimeline;
    anchor: ObservedCheckpoint | undefined;
    forks: readonly unknown[];
  },
  q: SimQuestion,
): Verdict {
  const p = q.alpha === undefined ? policy : { ...policy, alpha: q.alpha };
  return evaluatePause({
    policy: p,
    index: view.index,
    timeline: view.timeline,
    anchor: view.anchor,
    forks: view.forks,
    question: { lab: q.lab, pause: q.pause, ...(q.to !== undefined ? { to: iso(q.to) } : {}) },
    asOf: q.asOf,
  }).verdict;
}

/** Options of the full-mode verifier. */
export interface FullVerifierOptions {
  policy: VPausePolicy;
  logUrl: string;
  /** serves the log's and the witnesses' HTTP surfaces (in process) */
  fetch: typeof fetch;
  /** the simulated clock, ms */
  now: () => number;
  /** the witnesses' monitoring URLs, for gossip */
  witnessUrls: readonly string[];
}

/** The verifier of full mode: a LogFollower, the Monitor, evaluatePause. */
export function fullVerifier(o: FullVerifierOptions): SimVerifier {
  const follower = new LogFollower({
    policy: o.policy,
    logUrl: o.logUrl,
    fetch: o.fetch,
    now: o.now,
    threads: 0,
  });
  let monitor: Monitor | undefined;
  let evidenceDir: string | undefined;
  const gossipForks: ForkEvidence[] = [];
  let lastNote: string | undefined;
  return {
    async sync() {
      // A checkpoint already observed adds nothing: skip fetching it again.
      const r = await o.fetch(`${o.logUrl}/checkpoint`);
      const note = await r.text();
      if (note === lastNote) return;
      lastNote = note;
      await follower.sync();
    },
    async gossip() {
      if (gossipForks.length > 0) return;
      evidenceDir ??= await mkdtemp(join(tmpdir(), 'vpause-sim-evidence-'));
      monitor ??= new Monitor({
        policy: o.policy.tlog,
        logUrl: o.logUrl,
        witnessUrls: o.witnessUrls,
        evidenceDir,
        fetch: o.fetch,
        now: o.now,
      });
      const report = await monitor.checkOnce();
      if (report.evidence !== undefined && report.evidence.kind !== 'tiles-mismatch') {
        gossipForks.push(report.evidence);
      }
    },
    evaluate(q) {
      return evaluateWith(
        o.policy,
        {
          index: follower.index,
          timeline: follower.timeline(),
          anchor: follower.anchor(),
          forks: [...follower.forks, ...gossipForks],
        },
        q,
      );
    },
    async close() {
      follower.close();
      if (evidenceDir !== undefined) await rm(evidenceDir, { recursive: true, force: true });
    },
  };
}

/** A statement as fast mode hands it to the verifier. */
export interface FastEntry {
  payloadType: PayloadType;
  payload: Payload;
  payloadBytes: Uint8Array;
  payloadHash: string;
  /** the signer's vkey (its signature is valid by construction) */
  signer: string;
}

/** The verifier of fast mode: the log is handed over entry by entry and checkpoint by checkpoint. */
export interface FastVerifier extends SimVerifier {
  /** Appends the next entry of the log. */
  append(e: FastEntry): void;
  /** Makes a checkpoint of the entries appended so far, cosigned by `witnesses` at `time`. */
  checkpoint(witnesses: readonly string[], time: number): void;
}

const keyids = new Map<string, string>();
function keyidOf(vkey: string): string {
  let k = keyids.get(vkey);
  if (k === undefined) {
    k = keyIdString(parseVerifierKey(vkey));
    if (keyids.size > 100_000) keyids.clear();
    keyids.set(vkey, k);
  }
  return k;
}

/** The verifier of fast mode (see the module comment). */
export function fastVerifier(policy: VPausePolicy, origin: string): FastVerifier {
  const index = new LogIndex();
  const staged: StatementRecord[] = [];
  const observed: ObservedCheckpoint[] = [];
  let published: ObservedCheckpoint | undefined;
  let timeline: WitnessTimeline | undefined;
  return {
    append(e) {
      const i = index.size + staged.length;
      const r: StatementRecord = {
        index: i,
        leafHash: toHex(sha256(new TextEncoder().encode(`fast-leaf/${i}/${e.payloadHash}`))),
        payloadType: e.payloadType,
        payload: e.payload,
        payloadHash: e.payloadHash,
        signatures: [{ keyid: keyidOf(e.signer), sig: '' }],
        valid: [e.signer],
        invalid: [],
        payloadBytes: e.payloadBytes,
      };
      staged.push(r);
    },
    checkpoint(witnesses, time) {
      const size = index.size + staged.length;
      const cosignatures = witnesses.map((w) => ({ witness: w, time }));
      published = {
        note: `fast-mode checkpoint ${size} ${time}`,
        origin,
        size,
        rootHash: new Uint8Array(32),
        cosignatures,
        quorum: evaluateQuorum(policy.tlog, new Set(witnesses)),
      };
    },
    async sync() {
      if (published === undefined || observed.includes(published)) return;
      // The verifier reads the entries up to the published size.
      while (index.size < published.size) index.add(staged.shift()!);
      observed.push(published);
      timeline = undefined;
    },
    async gossip() {},
    evaluate(q) {
      timeline ??= new WitnessTimeline(policy.tlog, observed);
      const atSize = observed.filter((c) => c.size === index.size);
      const anchor = atSize.filter((c) => c.quorum).pop() ?? atSize.pop();
      return evaluateWith(policy, { index, timeline, anchor, forks: [] }, q);
    },
    async close() {},
  };
}
