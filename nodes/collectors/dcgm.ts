/**
 * dcgm-exporter collector: scrapes the exporter's `/metrics` over loopback through an injected
 * `fetch`, parses the Prometheus text with `parse-prometheus-text-format`, folds MIG instances
 * into one record per GPU UUID and turns each into a {@link GpuSample}.
 *
 * MIG: with MIG enabled dcgm-exporter prints one series per GPU instance (`GPU_I_ID`,
 * `GPU_I_PROFILE`) carrying the parent GPU's `UUID`. Device-level fields (power, the energy
 * counter, GPU utilisation, memory, clock) then repeat once per instance; they are de-duplicated
 * by taking the largest reading (the readings differ by a few mW because each line is read at a
 * slightly different time; the largest never under-reports). Profiling fields (SM, tensor and
 * graphics-engine activity) are per GPU instance, normalised to the instance; they are combined
 * into a device-level ratio weighted by the instance's compute slices (`1g.10gb` → 1 slice of 7
 * on A100/H100/H200/B200, of 4 on A30). For a model whose slice count is unknown the sum of the
 * instance ratios, capped at 1, is used: an upper bound, so FLOP estimates err high.
 */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { asTelemetryError, TelemetryError } from './errors.js';
import { type Collector, type GpuSample, pollEvery, systemTimer, type Timer } from './sample.js';

/** The DCGM fields the node reads. */
export const DCGM_FIELDS = {
  power: 'DCGM_FI_DEV_POWER_USAGE',
  energy: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
  util: 'DCGM_FI_DEV_GPU_UTIL',
  memUsed: 'DCGM_FI_DEV_FB_USED',
  smClock: 'DCGM_FI_DEV_SM_CLOCK',
  powerLimit: 'DCGM_FI_DEV_POWER_MGMT_LIMIT',
  grEngineActive: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
  smActive: 'DCGM_FI_PROF_SM_ACTIVE',
  tensorActive: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
} as const;

/** One physical GPU as seen in one scrape, after MIG de-duplication. */
export interface DcgmDevice {
  uuid: string;
  model?: string;
  host?: string;
  /** The `gpu` label (NVML index). */
  gpuIndex?: string;
  /** `GPU_I_ID`s of the MIG instances seen for this GPU, sorted; empty without MIG. */
  migInstances: string[];
  powerW?: number;
  /** Cumulative energy counter, millijoules since driver load. */
  energyMJ?: number;
  /** `DCGM_FI_DEV_GPU_UTIL` as a fraction. */
  utilGpu?: number;
  grEngineActive?: number;
  smActive?: number;
  tensorActive?: number;
  memUsedMiB?: number;
  smClockMHz?: number;
  powerLimitW?: number;
  driverVersion?: string;
}

/** A value the parser dropped, with why. */
export interface DcgmIssue {
  uuid?: string;
  metric: string;
  reason: string;
}

/** Result of {@link parseDcgmMetrics}: devices sorted by UUID, and dropped values. */
export interface DcgmParseResult {
  devices: DcgmDevice[];
  issues: DcgmIssue[];
}

type DeviceField = 'powerW' | 'energyMJ' | 'utilGpu' | 'memUsedMiB' | 'smClockMHz' | 'powerLimitW';
type ProfField = 'grEngineActive' | 'smActive' | 'tensorActive';

const DEVICE_METRICS: Readonly<
  Record<string, { field: DeviceField; divisor: number; max: number }>
> = {
  [DCGM_FIELDS.power]: { field: 'powerW', divisor: 1, max: 10_000 },
  [DCGM_FIELDS.energy]: { field: 'energyMJ', divisor: 1, max: 2 ** 63 },
  [DCGM_FIELDS.util]: { field: 'utilGpu', divisor: 100, max: 1 },
  [DCGM_FIELDS.memUsed]: { field: 'memUsedMiB', divisor: 1, max: 2 ** 32 },
  [DCGM_FIELDS.smClock]: { field: 'smClockMHz', divisor: 1, max: 100_000 },
  [DCGM_FIELDS.powerLimit]: { field: 'powerLimitW', divisor: 1, max: 10_000 },
};

const PROF_METRICS: Readonly<Record<string, ProfField>> = {
  [DCGM_FIELDS.grEngineActive]: 'grEngineActive',
  [DCGM_FIELDS.smActive]: 'smActive',
  [DCGM_FIELDS.tensorActive]: 'tensorActive',
};

/** Compute slices of a whole GPU in MIG mode, by model family. */
const MIG_SLICES: ReadonlyArray<readonly [RegExp, number]> = [
  [/\bA30\b/, 4],
  [/\b(?:A100|H100|H200|H20|GH200|B200|GB200|B300)\b/, 7],
];

/** Compute slices of the whole GPU for `model` in MIG mode, or undefined when unknown. */
export function migSlicesFor(model: string | undefined): number | undefined {
  if (model === undefined) return undefined;
  for (const [re, n] of MIG_SLICES) if (re.test(model)) return n;
  return undefined;
}

interface Acc {
  dev: DcgmDevice;
  instances: Set<string>;
  prof: Record<ProfField, { device?: number; perInstance: Map<string, { v: number; g?: number }> }>;
}

function newAcc(uuid: string): Acc {
  const slot = () => ({ perInstance: new Map<string, { v: number; g?: number }>() });
  return {
    dev: { uuid, migInstances: [] },
    instances: new Set(),
    prof: { grEngineActive: slot(), smActive: slot(), tensorActive: slot() },
  };
}

/**
 * Parses dcgm-exporter Prometheus text into one {@link DcgmDevice} per GPU UUID. Accepts the
 * host label as `Hostname` (before 2026) or `hostname`, the UUID label as `UUID` or `uuid`.
 * Series without a UUID label are ignored. Values that are not finite or out of physical range
 * (DCGM "blank" sentinels) are dropped and listed in `issues`.
 *
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` when the text is not Prometheus text format
 */
export function parseDcgmMetrics(text: string): DcgmParseResult {
  let families: PromFamily[];
  try {
    // The library drops the last line when the text does not end in a newline.
    families = parsePrometheusTextFormat(text.endsWith('\n') ? text : `${text}\n`);
  } catch (e) {
    throw asTelemetryError(e, 'TELEMETRY_MALFORMED', 'dcgm-exporter metrics');
  }
  const accs = new Map<string, Acc>();
  const issues: DcgmIssue[] = [];
  for (const fam of families) {
    const dm = DEVICE_METRICS[fam.name];
    const pm = PROF_METRICS[fam.name];
    for (const m of fam.metrics) {
      const labels = m.labels ?? {};
      const uuid = labels['UUID'] ?? labels['uuid'];
      if (!uuid) continue;
      let acc = accs.get(uuid);
      if (!acc) {
        acc = newAcc(uuid);
        accs.set(uuid, acc);
      }
      const d = acc.dev;
      const model = labels['modelName'];
      if (model && d.model === undefined) d.model = model;
      const host = labels['Hostname'] ?? labels['hostname'];
      if (host && d.host === undefined) d.host = host;
      if (labels['gpu'] !== undefined && d.gpuIndex === undefined) d.gpuIndex = labels['gpu'];
      const drv = labels['DCGM_FI_DRIVER_VERSION'];
      if (drv && d.driverVersion === undefined) d.driverVersion = drv;
      const gi = labels['GPU_I_ID'];
      if (gi !== undefined) acc.instances.add(gi);
      if (!dm && !pm) continue;
      const v = m.value === undefined ? Number.NaN : Number(m.value);
      if (!Number.isFinite(v) || v < 0) {
        issues.push({ uuid, metric: fam.name, reason: `not a non-negative number: ${m.value}` });
        continue;
      }
      if (dm) {
        const x = v / dm.divisor; // division: 57 / 100 is 0.57, 57 * 0.01 is not
        if (x > dm.max) {
          issues.push({ uuid, metric: fam.name, reason: `out of range: ${m.value}` });
          continue;
        }
        const prev = d[dm.field];
        d[dm.field] = prev === undefined ? x : Math.max(prev, x);
      } else if (pm) {
        if (v > 1 + 1e-9) {
          issues.push({ uuid, metric: fam.name, reason: `ratio above 1: ${m.value}` });
          continue;
        }
        const ratio = Math.min(1, v);
        const slot = acc.prof[pm];
        if (gi === undefined) {
          slot.device = Math.max(slot.device ?? 0, ratio);
        } else {
          const g = /^(\d+)g\./.exec(labels['GPU_I_PROFILE'] ?? '');
          const prevI = slot.perInstance.get(gi);
          const entry: { v: number; g?: number } = { v: Math.max(prevI?.v ?? 0, ratio) };
          if (g) entry.g = Number(g[1]);
          slot.perInstance.set(gi, entry);
        }
      }
    }
  }
  const devices: DcgmDevice[] = [];
  for (const acc of accs.values()) {
    const d = acc.dev;
    d.migInstances = [...acc.instances].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
    const slices = migSlicesFor(d.model);
    for (const f of ['grEngineActive', 'smActive', 'tensorActive'] as const) {
      const slot = acc.prof[f];
      if (slot.device !== undefined) {
        d[f] = slot.device;
      } else if (slot.perInstance.size > 0) {
        const inst = [...slot.perInstance.values()];
        const weighted =
          slices !== undefined && inst.every((i) => i.g !== undefined)
            ? inst.reduce((a, i) => a + (i.v * i.g!) / slices, 0)
            : inst.reduce((a, i) => a + i.v, 0);
        d[f] = Math.min(1, weighted);
      }
    }
    devices.push(d);
  }
  devices.sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
  return { devices, issues };
}

/**
 * Turns a device record into a sample at time `t`. `utilGpu` is `DCGM_FI_DEV_GPU_UTIL`, or, when
 * the exporter does not print it (it is not supported in MIG mode), graphics-engine activity.
 * @throws {TelemetryError} `TELEMETRY_INCOMPLETE` when the device has no model or no power reading
 */
export function dcgmDeviceToSample(d: DcgmDevice, t: number): GpuSample {
  if (d.model === undefined) {
    throw new TelemetryError('TELEMETRY_INCOMPLETE', `${d.uuid}: no modelName label`);
  }
  if (d.powerW === undefined) {
    throw new TelemetryError('TELEMETRY_INCOMPLETE', `${d.uuid}: no ${DCGM_FIELDS.power}`);
  }
  const s: GpuSample = { t, uuid: d.uuid, model: d.model, powerW: d.powerW };
  if (d.energyMJ !== undefined) s.energyMJ = d.energyMJ;
  const util = d.utilGpu ?? d.grEngineActive;
  if (util !== undefined) s.utilGpu = util;
  if (d.smActive !== undefined) s.smActive = d.smActive;
  if (d.tensorActive !== undefined) s.tensorActive = d.tensorActive;
  if (d.memUsedMiB !== undefined) s.memUsedMiB = d.memUsedMiB;
  if (d.smClockMHz !== undefined) s.smClockMHz = d.smClockMHz;
  if (d.host !== undefined) s.host = d.host;
  return s;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Options of {@link formatDcgmMetrics}. */
export interface FormatDcgmOptions {
  /** Spelling of the host label (default `Hostname`, as dcgm-exporter printed it before 2026). */
  hostLabel?: 'Hostname' | 'hostname';
}

/**
 * Prints samples as dcgm-exporter would (`# HELP`/`# TYPE` per family, one series per GPU).
 * Used by the synthetic source to feed the real parser, and by the parser's property tests.
 * Utilisation is printed as an integer percent, as DCGM does.
 */
export function formatDcgmMetrics(
  samples: readonly GpuSample[],
  opts: FormatDcgmOptions = {},
): string {
  const hostLabel = opts.hostLabel ?? 'Hostname';
  const fams: Array<[string, 'gauge' | 'counter', string, (s: GpuSample) => number | undefined]> = [
    [DCGM_FIELDS.power, 'gauge', 'Power draw (in W).', (s) => s.powerW],
    [
      DCGM_FIELDS.energy,
      'counter',
      'Total energy consumption since boot (in mJ).',
      (s) => s.energyMJ,
    ],
    [
      DCGM_FIELDS.util,
      'gauge',
      'GPU utilization (in %).',
      (s) => (s.utilGpu === undefined ? undefined : Math.round(s.utilGpu * 100)),
    ],
    [DCGM_FIELDS.memUsed, 'gauge', 'Framebuffer memory used (in MiB).', (s) => s.memUsedMiB],
    [DCGM_FIELDS.smClock, 'gauge', 'SM clock frequency (in MHz).', (s) => s.smClockMHz],
    [
      DCGM_FIELDS.smActive,
      'gauge',
      'The ratio of cycles an SM has at least 1 warp assigned.',
      (s) => s.smActive,
    ],
    [
      DCGM_FIELDS.tensorActive,
      'gauge',
      'Ratio of cycles the tensor (HMMA) pipe is active.',
      (s) => s.tensorActive,
    ],
  ];
  const out: string[] = [];
  for (const [name, type, help, get] of fams) {
    const lines: string[] = [];
    samples.forEach((s, i) => {
      const v = get(s);
      if (v === undefined) return;
      const labels = [
        `gpu="${i}"`,
        `UUID="${escapeLabel(s.uuid)}"`,
        `device="nvidia${i}"`,
        `modelName="${escapeLabel(s.model)}"`,
        ...(s.host !== undefined ? [`${hostLabel}="${escapeLabel(s.host)}"`] : []),
      ];
      lines.push(`${name}{${labels.join(',')}} ${String(v)}`);
    });
    if (lines.length === 0) continue;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  }
  return out.join('\n') + '\n';
}

/** One line of a dcgm-exporter counters file (`etc/default-counters.csv`). */
export interface DcgmCounterEntry {
  field: string;
  type: string;
  help: string;
}

/**
 * Parses a dcgm-exporter counters CSV (`DCGM field, Prometheus type, help`; `#` starts a
 * comment, so commented-out fields are not enabled).
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` for a line that has fewer than three columns
 */
export function parseDcgmCounterConfig(text: string): DcgmCounterEntry[] {
  const out: DcgmCounterEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const a = line.indexOf(',');
    const b = a < 0 ? -1 : line.indexOf(',', a + 1);
    if (a < 0 || b < 0) {
      throw new TelemetryError('TELEMETRY_MALFORMED', `counters line ${i + 1}: expected 3 columns`);
    }
    out.push({
      field: line.slice(0, a).trim(),
      type: line.slice(a + 1, b).trim(),
      help: line.slice(b + 1).trim(),
    });
  }
  return out;
}

/**
 * The fields this collector uses that a counters configuration does not enable, so an operator
 * can be told, e.g., that `DCGM_FI_PROF_SM_ACTIVE` is commented out in the default file.
 */
export function missingDcgmFields(config: readonly DcgmCounterEntry[]): string[] {
  const enabled = new Set(config.map((e) => e.field));
  return Object.values(DCGM_FIELDS).filter((f) => f !== DCGM_FIELDS.powerLimit && !enabled.has(f));
}

/** The slice of `fetch` the collector needs. */
export type FetchLike = (
  url: string,
  init: { signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

/** Options of {@link createDcgmCollector}. */
export interface DcgmCollectorOptions {
  /** Exporter URL (default `http://127.0.0.1:9400/metrics`); must be loopback unless `allowRemote`. */
  url?: string;
  allowRemote?: boolean;
  /**
   * Scrape period in ms. Default 30 000, dcgm-exporter's default collection interval (`-c`);
   * scraping faster than the exporter collects only repeats readings.
   */
  periodMs?: number;
  /** Per-scrape timeout in ms (default 5000). */
  timeoutMs?: number;
  /** Host name for samples whose series carry no host label. */
  host?: string;
  fetch?: FetchLike;
  timer?: Timer;
  /** Receives failed scrapes and devices skipped for missing values; the collector keeps running. */
  onError?: (e: TelemetryError) => void;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Creates the dcgm-exporter collector. Each scrape is stamped with the injected clock's time at
 * the start of the scrape.
 * @throws {TelemetryError} `CONFIG_INVALID` for a malformed or non-loopback URL or a bad period
 */
export function createDcgmCollector(opts: DcgmCollectorOptions = {}): Collector {
  const url = opts.url ?? 'http://127.0.0.1:9400/metrics';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw asTelemetryError(e, 'CONFIG_INVALID', 'dcgm-exporter url');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TelemetryError('CONFIG_INVALID', 'dcgm-exporter url must be http(s)');
  }
  if (!opts.allowRemote && !isLoopback(parsed.hostname)) {
    throw new TelemetryError('CONFIG_INVALID', `dcgm-exporter url ${url} is not loopback`);
  }
  const periodMs = opts.periodMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  if (
    !Number.isInteger(periodMs) ||
    periodMs < 1 ||
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1
  ) {
    throw new TelemetryError('CONFIG_INVALID', 'periodMs and timeoutMs must be positive integers');
  }
  const doFetch: FetchLike = opts.fetch ?? ((u, init) => fetch(u, init));
  const timer = opts.timer ?? systemTimer;
  const onError = opts.onError ?? (() => {});

  return {
    kind: 'dcgm-exporter',
    async run(onSamples, signal) {
      await pollEvery(
        periodMs,
        timer,
        signal,
        async () => {
          const t = timer.now();
          let text: string;
          try {
            const res = await doFetch(url, {
              signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
            });
            if (!res.ok) throw new Error(`HTTP ${res.status}`);
            text = await res.text();
          } catch (e) {
            if (signal.aborted) return;
            throw asTelemetryError(e, 'TELEMETRY_SOURCE_FAILED', `scrape ${url}`);
          }
          const { devices, issues } = parseDcgmMetrics(text);
          for (const i of issues) {
            onError(
              new TelemetryError(
                'TELEMETRY_MALFORMED',
                `${i.uuid ?? '?'} ${i.metric}: ${i.reason}`,
              ),
            );
          }
          const batch: GpuSample[] = [];
          for (const d of devices) {
            try {
              const s = dcgmDeviceToSample(d, t);
              if (s.host === undefined && opts.host !== undefined) s.host = opts.host;
              batch.push(s);
            } catch (e) {
              onError(asTelemetryError(e, 'TELEMETRY_INCOMPLETE', 'dcgm device'));
            }
          }
          if (batch.length > 0 && !signal.aborted) onSamples(batch);
        },
        (e) => onError(asTelemetryError(e, 'TELEMETRY_MALFORMED', 'dcgm-exporter scrape')),
      );
    },
  };
}
