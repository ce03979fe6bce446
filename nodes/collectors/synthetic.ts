/**
 * Synthetic telemetry: deterministic for a seed, with power, utilisation, SM and tensor activity
 * shaped like real workloads on real GPU models. Used by tests, demos and the simulator.
 *
 * Power model: `idleW + (loadW − idleW)·L + noise`, where `L` in [0, 1] is the workload's load
 * level and the noise is Gaussian with σ = 0.5 % of `loadW` (nvidia-smi states ±5 W accuracy).
 * Idle and load powers for H100 and H200 are the readings in shared/fixtures/telemetry (H100
 * 69.85 W idle vs 631.95 W under gpu-burn; H200 77.71 vs 627.40): a paused GPU draws about a
 * tenth of its load power. Other models use the same ratio against their board power limit and
 * say so in {@link GPU_PROFILES} (the A30's idle power is the MIG-mode reading in the fixtures).
 */
import { TelemetryError } from './errors.js';
import { createPrng, type Prng } from './prng.js';
import { type Collector, type GpuSample, pollEvery, systemTimer, type Timer } from './sample.js';

/** Power and memory of one GPU model, with where the numbers come from. */
export interface GpuProfile {
  /** The product name NVML prints. */
  model: string;
  idleW: number;
  loadW: number;
  memTotalMiB: number;
  source: string;
}

/** Profiles by short name. */
export const GPU_PROFILES = {
  H100: {
    model: 'NVIDIA H100 80GB HBM3',
    idleW: 69.85,
    loadW: 631.95,
    memTotalMiB: 81559,
    source: 'nvidia-smi capture, driver 590.48.01 (shared/fixtures/telemetry)',
  },
  H200: {
    model: 'NVIDIA H200',
    idleW: 77.71,
    loadW: 627.4,
    memTotalMiB: 143771,
    source: 'nvidia-smi capture, driver 590.48.01 (shared/fixtures/telemetry)',
  },
  A100: {
    model: 'NVIDIA A100-SXM4-80GB',
    idleW: 40,
    loadW: 380,
    memTotalMiB: 81920,
    source: 'estimate: 400 W board limit, idle ≈ 10 % of load as in the H100/H200 captures',
  },
  B200: {
    model: 'NVIDIA B200',
    idleW: 100,
    loadW: 950,
    memTotalMiB: 183359,
    source: 'estimate: 1000 W board limit, idle ≈ 10 % of load as in the H100/H200 captures',
  },
  A30: {
    model: 'NVIDIA A30',
    idleW: 52.64,
    loadW: 160,
    memTotalMiB: 24576,
    source:
      'idle: dcgm-exporter issue 317 excerpt (MIG on, tensor activity 0); load: estimate under the 165 W board limit',
  },
  V100: {
    model: 'Tesla V100-SXM2-32GB',
    idleW: 30,
    loadW: 290,
    memTotalMiB: 32768,
    source: 'estimate: 300 W board limit, idle ≈ 10 % of load as in the H100/H200 captures',
  },
} as const satisfies Record<string, GpuProfile>;

/** Short names accepted for {@link SyntheticOptions.model}. */
export type GpuProfileName = keyof typeof GPU_PROFILES;

/** Workload shapes. `bursty` switches the whole node between idle and training phases. */
export type SyntheticWorkload = 'idle' | 'inference' | 'training' | 'bursty';

/** Options of the synthetic source. */
export interface SyntheticOptions {
  seed: number | string;
  workload: SyntheticWorkload;
  /** A profile name or a full profile (default H100). */
  model?: GpuProfileName | GpuProfile;
  /** GPUs on the node (default 8). */
  gpus?: number;
  /** Sample period, ms (default 1000). */
  periodMs?: number;
  /** Mean phase length for `bursty`, ms (default 60 000). */
  burstMeanMs?: number;
  /** Emit a DCGM-style cumulative energy counter (`energyMJ`), integrated from the power. */
  energyCounter?: boolean;
  host?: string;
}

/** A running synthetic source: call `next` with increasing times. */
export interface SyntheticSource {
  readonly uuids: readonly string[];
  readonly profile: GpuProfile;
  /**
   * Samples of all GPUs at time `t`.
   * @throws {TelemetryError} `CONFIG_INVALID` when `t` is not after the previous call's time
   */
  next(t: number): GpuSample[];
}

function uuidFrom(rng: Prng): string {
  const hex = (n: number) =>
    Array.from({ length: n }, () => (rng.nextU32() & 15).toString(16)).join('');
  return `GPU-${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));
const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Creates a synthetic source. Everything, UUIDs included, derives from `seed`.
 * @throws {TelemetryError} `CONFIG_INVALID` for a bad GPU count, period or model name
 */
export function createSyntheticSource(opts: SyntheticOptions): SyntheticSource {
  const gpus = opts.gpus ?? 8;
  const periodMs = opts.periodMs ?? 1000;
  const burstMeanMs = opts.burstMeanMs ?? 60_000;
  if (!Number.isInteger(gpus) || gpus < 1 || gpus > 1024) {
    throw new TelemetryError('CONFIG_INVALID', 'gpus must be an integer in 1..1024');
  }
  if (!(periodMs > 0) || !(burstMeanMs > 0)) {
    throw new TelemetryError('CONFIG_INVALID', 'periodMs and burstMeanMs must be > 0');
  }
  const profile: GpuProfile =
    typeof opts.model === 'object' ? opts.model : GPU_PROFILES[opts.model ?? 'H100'];
  if (!profile) throw new TelemetryError('CONFIG_INVALID', `unknown GPU model ${opts.model}`);
  const rng = createPrng(opts.seed);
  const uuids = Array.from({ length: gpus }, () => uuidFrom(rng));
  const state = uuids.map(() => ({
    level: 0.6, // smoothed activity, for AR(1) noise
    counterMJ: opts.energyCounter ? Math.floor(rng.uniform(1e9, 1e11)) : 0,
    lastPowerW: undefined as number | undefined,
    lastT: undefined as number | undefined,
  }));
  let bursting = rng.next() < 0.5;
  let prevT: number | undefined;

  function sampleOne(i: number, t: number, wl: 'idle' | 'inference' | 'training'): GpuSample {
    const st = state[i]!;
    let util: number;
    let sm: number;
    let tensor: number;
    let load: number;
    let memFrac: number;
    if (wl === 'idle') {
      util = 0;
      sm = 0;
      tensor = 0;
      load = 0;
      memFrac = 0;
    } else if (wl === 'inference') {
      // Request-driven: activity wanders between ~0.25 and ~0.85.
      st.level = clamp01(0.85 * st.level + 0.15 * rng.uniform(0.25, 0.85) + 0.03 * rng.normal());
      util = clamp01(st.level);
      sm = clamp01(util * rng.uniform(0.55, 0.7));
      tensor = clamp01(util * rng.uniform(0.12, 0.25));
      load = clamp01(0.15 + 0.55 * util);
      memFrac = 0.55;
    } else {
      // Training saturates the GPU; brief dips at synchronisation points.
      const dip = rng.next() < 0.03;
      util = dip ? rng.uniform(0.6, 0.9) : rng.uniform(0.97, 1);
      sm = clamp01(util * rng.uniform(0.86, 0.95));
      tensor = clamp01(util * rng.uniform(0.45, 0.62));
      load = clamp01(util * rng.uniform(0.88, 1));
      memFrac = 0.9;
    }
    const noise = rng.normal() * 0.005 * profile.loadW;
    const powerW = Math.max(
      0,
      round(profile.idleW + (profile.loadW - profile.idleW) * load + noise, 2),
    );
    const s: GpuSample = {
      t,
      uuid: uuids[i]!,
      model: profile.model,
      powerW,
      utilGpu: round(util, 2),
      smActive: round(sm, 4),
      tensorActive: round(tensor, 4),
      memUsedMiB: Math.round(profile.memTotalMiB * memFrac),
    };
    if (opts.energyCounter) {
      if (st.lastT !== undefined && st.lastPowerW !== undefined) {
        st.counterMJ += ((st.lastPowerW + powerW) / 2) * (t - st.lastT);
      }
      s.energyMJ = Math.floor(st.counterMJ);
      st.lastPowerW = powerW;
      st.lastT = t;
    }
    if (opts.host !== undefined) s.host = opts.host;
    return s;
  }

  return {
    uuids,
    profile,
    next(t) {
      if (prevT !== undefined && t <= prevT) {
        throw new TelemetryError('CONFIG_INVALID', 'synthetic time must increase');
      }
      const dt = prevT === undefined ? periodMs : t - prevT;
      prevT = t;
      let wl: 'idle' | 'inference' | 'training';
      if (opts.workload === 'bursty') {
        if (rng.next() < Math.min(1, dt / burstMeanMs)) bursting = !bursting;
        wl = bursting ? 'training' : 'idle';
      } else {
        wl = opts.workload;
      }
      return uuids.map((_, i) => sampleOne(i, t, wl));
    },
  };
}

/**
 * Samples at `fromMs + k·periodMs` for every such time before `toMs`.
 * @throws {TelemetryError} `CONFIG_INVALID` as {@link createSyntheticSource}
 */
export function syntheticSamples(
  opts: SyntheticOptions,
  fromMs: number,
  toMs: number,
): GpuSample[] {
  const src = createSyntheticSource(opts);
  const period = opts.periodMs ?? 1000;
  const out: GpuSample[] = [];
  for (let t = fromMs; t < toMs; t += period) out.push(...src.next(t));
  return out;
}

/**
 * A collector that emits one synthetic batch every `periodMs` of the injected timer, stamped with
 * the timer's time.
 * @throws {TelemetryError} `CONFIG_INVALID` as {@link createSyntheticSource}
 */
export function createSyntheticCollector(opts: SyntheticOptions & { timer?: Timer }): Collector {
  const src = createSyntheticSource(opts);
  const timer = opts.timer ?? systemTimer;
  return {
    kind: 'synthetic',
    async run(onSamples, signal) {
      await pollEvery(
        opts.periodMs ?? 1000,
        timer,
        signal,
        async () => {
          onSamples(src.next(timer.now()));
        },
        () => {},
      );
    },
  };
}
