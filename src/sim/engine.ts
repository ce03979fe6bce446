/**
 * One Monte Carlo run: build the world (./model.ts), let the strategies shape it, measure it
 * (./telemetry.ts), let the strategies disguise it, make keys and statements (./statements.ts),
 * then play the run on the simulated clock — statements reach the log when their time comes, the
 * log integrates every `checkpointSeconds`, witnesses cosign, the verifier follows the log and
 * evaluates every lab's pause every `lookEverySeconds` and once more when every report is due.
 * The result holds, per lab, the verifier's findings over time next to the ground truth.
 *
 * Nothing here reads a clock or Math.random: every draw comes from a stream of the run seed, so
 * a run's result depends only on the scenario, the seed, the sweep point and the run index.
 */

import { PAYLOAD_TYPE, type UsagePayload } from '../../protocol/src/schemas.js';
import { chainKey } from '../../protocol/src/statements.js';
import { FINDING_SEVERITY, type Verdict, type VerdictValue } from '../../protocol/src/verdict.js';
import { indexAdmitList } from '../log/admission.js';
import { parseAdmit } from '../policy/admit.js';
import { parseVPausePolicy, type VPausePolicy } from '../policy/vpause-policy.js';
import { SimLog } from './log.js';
import { buildWorld, HONEST, type SimWorld } from './model.js';
import { runSeed } from './random.js';
import type { LoadedScenario } from './scenario.js';
import {
  admitText,
  buildStatements,
  LOG_ORIGIN,
  LOG_URL,
  makeKeys,
  policyText,
  type SimStatement,
} from './statements.js';
import { STRATEGIES, type StrategyContext } from './strategies/index.js';
import { entryStream } from './strategies/types.js';
import { runTelemetry } from './telemetry.js';
import {
  type FastVerifier,
  fastVerifier,
  fullVerifier,
  type SimVerifier,
} from './verifier-adapter.js';

/** Findings about the log or the verifier's view of it, not about a lab's conduct. */
export const LOG_LEVEL_CODES: ReadonlySet<string> = new Set([
  'log-inconsistent',
  'quorum-not-met',
  'timeliness-unknown',
]);

/** One lab in one run: the verifier's findings over time and the ground truth. */
export interface LabRun {
  lab: string;
  group: string;
  /** the verdict when every report is due, as the verifier gave it */
  final: { verdict: VerdictValue; codes: string[] };
  /** seconds after the pause start of the first look with each kind of finding (null: none) */
  firstAt: {
    /** a violation finding about the lab */
    violation: number | null;
    /** a violation or gap finding about the lab */
    flagged: number | null;
    /** a violation finding about the log */
    logViolation: number | null;
    /** a violation or gap finding about the log */
    logFlagged: number | null;
  };
  /**
   * every violation or gap code seen, with the first look (seconds after the pause start); the
   * looks between the lab's first violation and the final look are not evaluated
   */
  codes: Record<string, number>;
  /** at the final look, per ROC alpha: a violation about the lab / about the lab or the log */
  roc: { lab: boolean[]; any: boolean[] };
  /** the physics check's detection bound at the final look (FLOP), when it ran */
  minHiddenFlop: number | null;
  truth: {
    /** seconds after the pause start of the first interval a strategy touched (null: honest) */
    cheatStart: number | null;
    hiddenFlop: number;
    hiddenEnergyJ: number;
    /** hidden FLOP per reporting interval */
    perInterval: number[];
  };
}

export interface RunResult {
  point: number;
  run: number;
  seed: number;
  /** the path the run took (a fast scenario runs forked logs in full) */
  mode: 'full' | 'fast';
  labs: LabRun[];
  /** assumptions the strategies stated for this run */
  notes: string[];
  stats: {
    statements: number;
    checkpoints: number;
    looks: number;
    /** statements the log refused, by code */
    refused: Record<string, number>;
  };
}

/** Options of a run. */
export interface RunOptions {
  /** force a mode (tests compare the two) */
  mode?: 'full' | 'fast';
}

function prepare(loaded: LoadedScenario, seed: number): SimWorld {
  const w = buildWorld(loaded.scenario, seed, loaded.groups);
  const ctxs = loaded.groups.map((g) => {
    const ctx: StrategyContext<unknown> = {
      world: w,
      params: g.params,
      group: g.id,
      labs: g.labs.map((id) => w.labs.find((l) => l.id === id)!),
      rng: (label) => entryStream(w, g.id, label),
    };
    return { s: STRATEGIES.get(g.strategy)!, ctx };
  });
  for (const { s, ctx } of ctxs) s.shape?.(ctx);
  runTelemetry(w);
  for (const { s, ctx } of ctxs) s.disguise?.(ctx);
  return w;
}

/** The log of fast mode: ordering, seq-conflict and duplicate rules of the real log's admission. */
class FastLog {
  private readonly claims = new Map<string, string>();
  private appended = 0;
  private first = true;
  readonly refused = new Map<string, number>();
  constructor(private readonly v: FastVerifier) {}
  submit(stmts: readonly SimStatement[]): void {
    for (const s of stmts) {
      const chain = chainKey(s.payloadType, s.payload);
      if (chain !== null) {
        const key = `${chain}#${(s.payload as UsagePayload).seq}`;
        const had = this.claims.get(key);
        if (had === s.payloadHash) continue; // a duplicate: the original index
        if (had !== undefined) {
          this.refused.set('SEQ_CONFLICT', (this.refused.get('SEQ_CONFLICT') ?? 0) + 1);
          continue;
        }
        this.claims.set(key, s.payloadHash);
      }
      this.v.append({
        payloadType: s.payloadType,
        payload: s.payload,
        payloadBytes: s.payloadBytes,
        payloadHash: s.payloadHash,
        signer: s.signer.vkey,
      });
      this.appended++;
    }
  }
  /** Like integrateOnce: a checkpoint when the tree grew (and the very first one). */
  checkpoint(witnesses: readonly string[], time: number): boolean {
    if (this.appended === 0 && !this.first) return false;
    this.first = false;
    this.appended = 0;
    this.v.checkpoint(witnesses, time);
    return true;
  }
}

const policies = new Map<string, VPausePolicy>();
/** Parses a policy text once per thread (fast-mode runs share their keys, so their policy). */
function cachedPolicy(text: string): VPausePolicy {
  let p = policies.get(text);
  if (p === undefined) {
    p = parseVPausePolicy(text, { file: 'sim-policy' });
    if (policies.size > 256) policies.clear();
    policies.set(text, p);
  }
  return p;
}

interface Look {
  labV: boolean;
  labG: boolean;
  logV: boolean;
  logG: boolean;
  codes: string[];
}

function summarise(v: Verdict): Look {
  const out: Look = { labV: false, labG: false, logV: false, logG: false, codes: [] };
  const codes = new Set<string>();
  for (const f of v.findings) {
    const sev = FINDING_SEVERITY[f.code];
    if (sev === 'info') continue;
    codes.add(f.code);
    const log = LOG_LEVEL_CODES.has(f.code);
    if (sev === 'violation') {
      if (log) out.logV = true;
      else out.labV = true;
    } else if (log) out.logG = true;
    else out.labG = true;
  }
  out.codes = [...codes].sort();
  return out;
}

/** Ground truth per lab from the world and what the verifier's history holds. */
function truthOf(
  w: SimWorld,
  stmts: readonly SimStatement[],
  forked: boolean,
  until: number,
): Map<string, LabRun['truth']> {
  const seen = new Map<string, { flop: number; energyJ: number }>();
  for (const s of stmts) {
    if (s.payloadType !== PAYLOAD_TYPE.usage || s.submitAt > until) continue;
    if (s.branch === (forked ? 'main' : 'fork')) continue;
    const p = s.payload as UsagePayload;
    const k = `${p.facility}/${p.cluster}/${p.node}@${p.start}`;
    const x = seen.get(k) ?? { flop: 0, energyJ: 0 };
    seen.set(k, { flop: x.flop + p.flop, energyJ: x.energyJ + p.energyJ });
  }
  const out = new Map<string, LabRun['truth']>();
  for (const l of w.labs)
    out.set(l.id, {
      cheatStart: null,
      hiddenFlop: 0,
      hiddenEnergyJ: 0,
      perInterval: Array(w.intervals).fill(0),
    });
  const iso = (t: number) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const n of w.nodes) {
    const t = out.get(n.lab)!;
    for (const s of n.slots) {
      if (s.gain === undefined) continue;
      t.cheatStart = Math.min(t.cheatStart ?? Number.POSITIVE_INFINITY, s.start - w.t0);
      let flop = s.truth.flop;
      let energyJ = s.truth.energyJ;
      if (s.gain === 'hidden') {
        const r = n.declared ? seen.get(`${n.id}@${iso(s.start)}`) : undefined;
        flop = Math.max(0, flop - (r?.flop ?? 0));
        energyJ = Math.max(0, energyJ - (r?.energyJ ?? 0));
      }
      t.hiddenFlop += flop;
      t.hiddenEnergyJ += energyJ;
      t.perInterval[s.k] = t.perInterval[s.k]! + flop;
    }
  }
  return out;
}

/**
 * Plays one run and returns what the verifier found, over time, next to the ground truth.
 * @throws {SimError} SCENARIO_INVALID for a strategy that cannot act on the world given
 * @throws {Error} for failures of the protocol code (which the simulator does not expect)
 */
export async function runOnce(
  loaded: LoadedScenario,
  point: number,
  run: number,
  opts: RunOptions = {},
): Promise<RunResult> {
  const sc = loaded.scenario;
  const seed = runSeed(sc.seed, point, run);
  const w = prepare(loaded, seed);
  const mode = w.fork !== undefined ? 'full' : (opts.mode ?? sc.mode);
  const keys = mode === 'full' ? makeKeys(w) : makeKeys(w, { keySeed: sc.seed });
  const policy = cachedPolicy(policyText(w, keys));
  const stmts = buildStatements(w, keys, mode === 'full');

  const C = sc.log.checkpointSeconds;
  const setupAt = w.t0 - 2 * C;
  const maxDelay = sc.reporting.maxDelaySeconds;
  const tFinal = setupAt + Math.ceil((w.tEnd + maxDelay - setupAt) / C) * C;
  const syncEvery = sc.verifier.syncEverySeconds ?? C;
  const lookEvery = sc.verifier.lookEverySeconds;
  const witnessNames = keys.witnesses.map((x) => x.name);

  let nowS = setupAt;
  let verifier: SimVerifier;
  let log: SimLog | undefined;
  let fast: FastLog | undefined;
  if (mode === 'full') {
    const admit = indexAdmitList(parseAdmit(admitText(w, keys)));
    log = new SimLog(keys, admit, w.fork, setupAt * 1000);
    const l = log;
    verifier = fullVerifier({
      policy,
      logUrl: LOG_URL,
      fetch: log.fetch,
      now: () => nowS * 1000,
      witnessUrls: l.witnessUrls(),
    });
  } else {
    const fv = fastVerifier(policy, LOG_ORIGIN);
    fast = new FastLog(fv);
    verifier = fv;
  }
  const gossip = mode === 'full' && w.fork !== undefined && sc.verifier.witnessGossip;

  const logLevel = new Set(w.groups.filter((g) => g.logLevel).map((g) => g.id));
  const labs = w.labs.map((l) => ({
    lab: l,
    logLevel: logLevel.has(l.group),
    first: {
      violation: null,
      flagged: null,
      logViolation: null,
      logFlagged: null,
    } as LabRun['firstAt'],
    codes: {} as Record<string, number>,
    final: undefined as Look | undefined,
    finalVerdict: 'compliant' as VerdictValue,
    roc: { lab: [] as boolean[], any: [] as boolean[] },
    minHiddenFlop: null as number | null,
  }));

  let next = 0;
  let nextSync = setupAt;
  let nextLook = w.t0 + lookEvery;
  let checkpoints = 0;
  let looks = 0;
  try {
    for (let t = setupAt; t <= tFinal; t += C) {
      nowS = t;
      let end = next;
      while (end < stmts.length && stmts[end]!.submitAt <= t) end++;
      const batch = stmts.slice(next, end);
      next = end;
      let grew: boolean;
      if (log !== undefined) {
        log.setNow(t * 1000);
        if (batch.length > 0) await log.submit(batch);
        grew = await log.checkpoint();
      } else {
        fast!.submit(batch);
        grew = fast!.checkpoint(witnessNames, t);
      }
      if (grew) checkpoints++;
      const final = t === tFinal;
      const look = final || t >= nextLook;
      if (t >= nextSync || look) {
        await verifier.sync();
        while (nextSync <= t) nextSync += syncEvery;
      }
      if (!look) continue;
      while (nextLook <= t) nextLook += lookEvery;
      looks++;
      if (gossip) await verifier.gossip();
      const rel = t - w.t0;
      for (const x of labs) {
        // Once a lab's first violation (and, for a strategy acting on the log, the log's) is on
        // record, the looks before the final one have nothing left to time: skip them.
        if (!final && x.first.violation !== null && (!x.logLevel || x.first.logViolation !== null))
          continue;
        const v = verifier.evaluate({
          lab: x.lab.id,
          pause: x.lab.pause.id,
          asOf: t,
          ...(final ? { to: w.tEnd } : {}),
        });
        const s = summarise(v);
        if (s.labV) x.first.violation ??= rel;
        if (s.labV || s.labG) x.first.flagged ??= rel;
        if (s.logV) x.first.logViolation ??= rel;
        if (s.logV || s.logG) x.first.logFlagged ??= rel;
        for (const c of s.codes) x.codes[c] ??= rel;
        if (!final) continue;
        x.final = s;
        x.finalVerdict = v.verdict;
        x.minHiddenFlop = v.detection?.minHiddenFlop ?? null;
        for (const a of sc.verifier.rocAlphas) {
          const r = summarise(
            verifier.evaluate({
              lab: x.lab.id,
              pause: x.lab.pause.id,
              asOf: t,
              to: w.tEnd,
              alpha: a,
            }),
          );
          x.roc.lab.push(r.labV);
          x.roc.any.push(r.labV || r.logV);
        }
      }
    }
  } finally {
    await verifier.close();
    await log?.close();
  }
  const truth = truthOf(w, stmts, w.fork !== undefined, tFinal);
  const refused = Object.fromEntries([...(log?.refused ?? fast!.refused)].sort());
  return {
    point,
    run,
    seed,
    mode,
    labs: labs.map((x) => ({
      lab: x.lab.id,
      group: x.lab.group ?? HONEST,
      final: { verdict: x.finalVerdict, codes: x.final?.codes ?? [] },
      firstAt: x.first,
      codes: x.codes,
      roc: x.roc,
      minHiddenFlop: x.minHiddenFlop,
      truth: truth.get(x.lab.id)!,
    })),
    notes: [...new Set(w.assumptions)].sort(),
    stats: { statements: stmts.length, checkpoints, looks, refused },
  };
}
