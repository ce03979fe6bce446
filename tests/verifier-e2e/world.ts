/**
 * A small verification world for the planted-violation scenarios: one lab (root key, nodes with
 * registered keys), one facility with an inspector's meter, witnesses, a real in-process log
 * whose publication stage cosigns each new checkpoint with the witnesses at the injected clock,
 * and a verifier following that log (LogFollower) the way the service does.
 *
 * Ground truth is whatever the scenario builds: honest intervals are reported one minute after
 * they end, with a meter reading of PUE 1.25 × GPU energy + baseline, plus 1 % seeded noise.
 */
import { createHash } from 'node:crypto';
import {
  makeStatement,
  PAYLOAD_TYPE,
  type PayloadOf,
  payloadHash,
  ZERO_HASH,
} from '../../protocol/src/index.js';
import { formatTime } from '../../protocol/src/time.js';
import { toHex } from '../../src/core/bytes.js';
import type { SignerKey } from '../../src/note/keys.js';
import { parseVPausePolicy, type VPausePolicy } from '../../src/policy/vpause-policy.js';
import { signCosignature } from '../../src/tlog/cosignature.js';
import { type Evaluation, evaluatePause, type Question } from '../../src/verifier/evaluate.js';
import { xoshiro128 } from '../../src/verifier/prng.js';
import { LogFollower } from '../../src/verifier/sync.js';
import { json, startTestLog, type TestLog, waitForSize } from '../helpers/log.js';
import { type TestKey, testKey } from '../helpers/world.js';

/** 2026-11-27T00:00:00Z, POSIX seconds: the pause starts here. */
export const T0 = Date.UTC(2026, 10, 27) / 1000;
export const LAB = 'lab-a.example';
export const PAUSE = 'pause-1';
export const INTERVAL = 300;
export const MAX_DELAY = 900;
export const BASELINE_W = 150_000;
export const IDLE_J = 8 * 70 * INTERVAL; // 8 GPUs idling at 70 W
export const TRAIN_J = 8 * 632 * INTERVAL; // 8 GPUs at full load

export interface WorldOptions {
  nodes?: string[];
  /** witnesses in the policy; the quorum is all of them */
  witnesses?: number;
  /** how many of the witnesses cosign the log's checkpoints (default: all) */
  cosigners?: number;
  maxFlopPerDay?: number;
  allowedWorkloads?: PayloadOf<typeof PAYLOAD_TYPE.pause>['limits']['allowedWorkloads'];
  /** true PUE of the facility (default 1.25, inside the policy's [1.1, 1.4]) */
  pue?: number;
  seed?: number;
  alpha?: number;
  /** the follower's cache directory (a CLI run can then pick up what it observed) */
  cacheDir?: string;
  /** extra policy lines (e.g. verifier-key) */
  policyExtra?: string[];
  /** the pause's scope (default ["*"]) */
  scope?: string[];
  /** log no inventory at the start */
  noInventory?: boolean;
}

interface NodeState {
  key: TestKey;
  seq: number;
  prev: string;
}

export class World {
  readonly root = testKey(`${LAB}/root`);
  readonly meterKey = testKey('meter.f1.inspector.example');
  readonly witnesses: TestKey[];
  readonly nodes = new Map<string, NodeState>();
  readonly names: string[];
  /** POSIX seconds; the witnesses cosign at this time */
  now: number = T0 - 3600;
  policy!: VPausePolicy;
  policyText!: string;
  log!: TestLog;
  follower!: LogFollower;
  /** called after each submission is synced (e.g. to let a verifier service sync too) */
  afterSync: (() => Promise<unknown>) | undefined;
  private sequenced = 0;
  private meterSeq = 0;
  private meterPrev = ZERO_HASH;
  private counter = 0;
  private readonly rng;
  private cosigners: TestKey[];

  constructor(readonly opts: WorldOptions = {}) {
    this.names = opts.nodes ?? ['n1', 'n2', 'n3'];
    this.witnesses = Array.from({ length: opts.witnesses ?? 2 }, (_, i) =>
      testKey(`witness-${i}.example`, true),
    );
    this.cosigners = this.witnesses.slice(0, opts.cosigners ?? this.witnesses.length);
    this.rng = xoshiro128(opts.seed ?? 7);
    for (const n of this.names) {
      this.nodes.set(n, { key: testKey(`${LAB}/node/f1/c1/${n}`), seq: 0, prev: ZERO_HASH });
    }
  }

  /** Starts the log and the follower, and logs registrations, the inventory and the pause. */
  static async start(opts: WorldOptions = {}): Promise<World> {
    const w = new World(opts);
    const logKey = testKey('log.example/log');
    w.log = await startTestLog(
      `lab ${w.root.vkey}\nmeter f1 ${w.meterKey.vkey}\n`,
      {
        service: {
          integrateIntervalMs: 10,
          publish: async (cp: string) => {
            const body = cp.slice(0, cp.indexOf('\n\n') + 1);
            let note = cp;
            for (const k of w.cosigners) note += signCosignature(body, k.signer, w.now);
            return note;
          },
        },
      },
      logKey,
    );
    w.policyText = [
      `log ${logKey.vkey} ${w.log.url}`,
      ...w.witnesses.map((k, i) => `witness w${i} ${k.vkey}`),
      `group all-witnesses all ${w.witnesses.map((_, i) => `w${i}`).join(' ')}`,
      'quorum all-witnesses',
      `lab ${w.root.vkey}`,
      `facility f1 pue 1.1 1.4 baseline-w ${BASELINE_W} meter-sigma 0.01`,
      `meter f1 ${w.meterKey.vkey}`,
      `alpha ${opts.alpha ?? 0.001}`,
      ...(opts.policyExtra ?? []),
      '',
    ].join('\n');
    w.policy = parseVPausePolicy(w.policyText);
    w.follower = new LogFollower({
      policy: w.policy,
      logUrl: w.log.url,
      now: () => w.now * 1000,
      threads: 0,
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    });
    await w.submit([
      ...w.names.map((n) => w.registration(n, 'add', T0 - 3600)),
      ...(opts.noInventory ? [] : [w.inventory()]),
      w.pause(),
    ]);
    return w;
  }

  /** The world without a log: keys, statement builders and the policy (for hand-built logs). */
  static offline(opts: WorldOptions = {}): World {
    const w = new World(opts);
    w.policyText = [
      `log ${testKey('log.example/log').vkey}`,
      ...w.witnesses.map((k, i) => `witness w${i} ${k.vkey}`),
      `group all-witnesses all ${w.witnesses.map((_, i) => `w${i}`).join(' ')}`,
      'quorum all-witnesses',
      `lab ${w.root.vkey}`,
      `facility f1 pue 1.1 1.4 baseline-w ${BASELINE_W} meter-sigma 0.01`,
      `meter f1 ${w.meterKey.vkey}`,
      `alpha ${opts.alpha ?? 0.001}`,
      '',
    ].join('\n');
    w.policy = parseVPausePolicy(w.policyText);
    return w;
  }

  /** Submits statements (one batch) and returns each result. */
  async submitRaw(bodies: Uint8Array[]): Promise<{ index?: number; error?: { code: string } }[]> {
    const r = await this.log.post(
      '/v1/statements:batch',
      JSON.stringify(bodies.map((b) => JSON.parse(new TextDecoder().decode(b)))),
    );
    const { results } = await json(r);
    return results;
  }

  /** Submits statements that must all be accepted, waits for the checkpoint and syncs. */
  async submit(bodies: Uint8Array[]): Promise<number[]> {
    const results = await this.submitRaw(bodies);
    const idx = results.map((x, i) => {
      if (x.index === undefined) {
        throw new Error(`statement ${i} refused: ${JSON.stringify(x.error)}`);
      }
      return x.index;
    });
    this.sequenced += idx.length;
    await waitForSize(this.log.url, this.sequenced);
    await this.follower.sync();
    await this.afterSync?.();
    return idx;
  }

  registration(node: string, action: 'add' | 'revoke', time: number, key?: TestKey): Uint8Array {
    return makeStatement(
      PAYLOAD_TYPE.registration,
      {
        v: 1,
        lab: LAB,
        action,
        role: 'node',
        key: (key ?? this.nodes.get(node)!.key).vkey,
        facility: 'f1',
        cluster: 'c1',
        node,
        time: formatTime(time),
      },
      this.root.signer,
    ).entry;
  }

  inventory(nodes = this.names, time = T0 - 3600): Uint8Array {
    return makeStatement(
      PAYLOAD_TYPE.inventory,
      {
        v: 1,
        lab: LAB,
        time: formatTime(time),
        nodes: nodes.map((node) => ({
          facility: 'f1',
          cluster: 'c1',
          node,
          gpus: 8,
          model: 'H100-SXM',
        })),
      },
      this.root.signer,
    ).entry;
  }

  pause(): Uint8Array {
    return makeStatement(
      PAYLOAD_TYPE.pause,
      {
        v: 1,
        lab: LAB,
        id: PAUSE,
        start: formatTime(T0),
        end: null,
        scope: this.opts.scope ?? ['*'],
        limits: {
          maxFlopPerDay: this.opts.maxFlopPerDay ?? 1e21,
          allowedWorkloads: this.opts.allowedWorkloads ?? ['idle', 'inference', 'maintenance'],
        },
        reporting: { intervalSeconds: INTERVAL, maxDelaySeconds: MAX_DELAY },
      },
      this.root.signer,
    ).entry;
  }

  /** The usage report of `node` for interval k (advances its chain unless `keep`). */
  usage(
    node: string,
    k: number,
    over: Partial<PayloadOf<typeof PAYLOAD_TYPE.usage>> = {},
    opts: { signer?: SignerKey; keep?: boolean } = {},
  ): { entry: Uint8Array; payload: PayloadOf<typeof PAYLOAD_TYPE.usage> } {
    const n = this.nodes.get(node)!;
    const start = T0 + k * INTERVAL;
    const payload: PayloadOf<typeof PAYLOAD_TYPE.usage> = {
      v: 1,
      lab: LAB,
      facility: 'f1',
      cluster: 'c1',
      node,
      seq: n.seq,
      prev: n.prev,
      start: formatTime(start),
      end: formatTime(start + INTERVAL),
      gpus: 8,
      gpuSeconds: 8 * INTERVAL,
      energyJ: IDLE_J,
      tensorActive: 0,
      flop: 0,
      workload: 'idle',
      bodyHash: toHex(createHash('sha256').update(`body-${node}-${k}`).digest()),
      samples: { count: 2400, root: toHex(createHash('sha256').update(`s-${node}-${k}`).digest()) },
      ...over,
    };
    const s = makeStatement(PAYLOAD_TYPE.usage, payload, opts.signer ?? n.key.signer);
    if (!opts.keep) {
      n.seq = payload.seq + 1;
      n.prev = payloadHash(Buffer.from(s.envelope.payload, 'base64'));
    }
    return { entry: s.entry, payload };
  }

  /** The meter reading for interval k: `facilityJ` with the meter's 1 % noise. */
  meter(k: number, facilityJ: number, noise = true): Uint8Array {
    const start = T0 + k * INTERVAL;
    const energyJ = Math.round(facilityJ * (noise ? 1 + 0.01 * this.rng.nextNormal() : 1));
    this.counter += energyJ;
    const s = makeStatement(
      PAYLOAD_TYPE.meter,
      {
        v: 1,
        facility: 'f1',
        meter: 'm1',
        seq: this.meterSeq,
        prev: this.meterPrev,
        start: formatTime(start),
        end: formatTime(start + INTERVAL),
        energyJ,
        counterJ: this.counter,
      },
      this.meterKey.signer,
    );
    this.meterSeq++;
    this.meterPrev = payloadHash(Buffer.from(s.envelope.payload, 'base64'));
    return s.entry;
  }

  /** What the meter should read for these reports: true PUE × GPU energy + baseline. */
  facilityJ(gpuJ: number, hiddenGpuJ = 0): number {
    return (this.opts.pue ?? 1.25) * (gpuJ + hiddenGpuJ) + BASELINE_W * INTERVAL;
  }

  /**
   * Interval k as a (possibly dishonest) lab reports it, one minute after it ends: every node's
   * report (`over` per node), and the meter reading of the energy truly drawn.
   */
  async interval(
    k: number,
    opts: {
      skip?: string[];
      over?: Record<string, Partial<PayloadOf<typeof PAYLOAD_TYPE.usage>>>;
      /** GPU energy truly drawn beyond what is reported (hidden or under-reported), J */
      hiddenGpuJ?: number;
      extra?: Uint8Array[];
      at?: number;
    } = {},
  ): Promise<number[]> {
    this.now = opts.at ?? T0 + (k + 1) * INTERVAL + 60;
    const bodies: Uint8Array[] = [];
    let gpuJ = 0;
    for (const n of this.names) {
      if (opts.skip?.includes(n)) continue;
      const u = this.usage(n, k, opts.over?.[n]);
      gpuJ += u.payload.energyJ;
      bodies.push(u.entry);
    }
    bodies.push(this.meter(k, this.facilityJ(gpuJ, opts.hiddenGpuJ ?? 0)));
    return this.submit([...bodies, ...(opts.extra ?? [])]);
  }

  /** Runs honest intervals from..to-1. */
  async honest(from: number, to: number): Promise<void> {
    for (let k = from; k < to; k++) await this.interval(k);
  }

  /** Evaluates the pause as of `asOf` (default: every interval up to `intervals` due). */
  evaluate(intervals: number, asOf?: number, question: Partial<Question> = {}): Evaluation {
    return evaluatePause({
      policy: this.policy,
      index: this.follower.index,
      timeline: this.follower.timeline(),
      anchor: this.follower.anchor(),
      forks: this.follower.forks,
      question: { lab: LAB, pause: PAUSE, to: formatTime(T0 + intervals * INTERVAL), ...question },
      asOf: asOf ?? T0 + intervals * INTERVAL + MAX_DELAY + 60,
    });
  }

  async close(): Promise<void> {
    this.follower?.close();
    await this.log?.close();
  }
}

/** The finding codes of an evaluation, sorted and distinct. */
export function codes(e: Evaluation): string[] {
  return [...new Set(e.verdict.findings.map((f) => f.code))].sort();
}
