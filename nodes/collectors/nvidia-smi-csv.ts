/**
 * Strict parser (and printer, for tests and replays) of what
 * `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]` prints.
 *
 * The format, as the captures in shared/fixtures/telemetry show it: one line per GPU, values
 * separated by `", "`, never quoted (product names contain spaces but no commas); an optional
 * header line naming each field with its unit in brackets (`power.draw [W]`); values carry the
 * unit after a space unless `nounits` was given (`69.85 W`); a value nvidia-smi cannot read is
 * printed in brackets (`[N/A]`, `[Not Supported]`, `[Requested functionality has been
 * deprecated]`), as a bare `N/A`, or empty. Pure: no I/O.
 */
import { TelemetryError } from './errors.js';
import type { GpuSample } from './sample.js';

/** Canonical field name for each alias nvidia-smi accepts (`--help-query-gpu`: `"a" or "b"`). */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  gpu_name: 'name',
  gpu_uuid: 'uuid',
  gpu_serial: 'serial',
  gpu_bus_id: 'pci.bus_id',
  'clocks.sm': 'clocks.current.sm',
  'clocks.gr': 'clocks.current.graphics',
  'clocks.mem': 'clocks.current.memory',
  'gpu.power.draw.instant': 'power.draw.instant',
  'gpu.power.draw.average': 'power.draw.average',
};

/** The unit nvidia-smi prints for the numeric fields the node reads. */
export const NVIDIA_SMI_UNITS: Readonly<Record<string, string>> = {
  'power.draw': 'W',
  'power.draw.average': 'W',
  'power.draw.instant': 'W',
  'power.limit': 'W',
  'utilization.gpu': '%',
  'memory.used': 'MiB',
  'memory.total': 'MiB',
  'clocks.current.sm': 'MHz',
};

/** Maps an nvidia-smi field name or alias to the canonical name used in parsed rows. */
export function canonicalField(name: string): string {
  return FIELD_ALIASES[name] ?? name;
}

/** One parsed line: canonical field name → raw value without unit; `undefined` = not available. */
export type NvidiaSmiRow = Record<string, string | undefined>;

/** A parsed CSV block. */
export interface NvidiaSmiTable {
  /** Canonical field names, in column order. */
  fields: string[];
  /** Unit of each column from the header (or the known unit table), `undefined` if none. */
  units: (string | undefined)[];
  rows: NvidiaSmiRow[];
}

const HEADER_CELL_RE = /^([A-Za-z0-9_.]+)(?: \[([^\]]+)\])?$/;

function isUnavailable(v: string): boolean {
  return v === '' || v === 'N/A' || (v.startsWith('[') && v.endsWith(']'));
}

/**
 * Parses nvidia-smi CSV output. Without `fields` the first non-empty line must be the header
 * (`--format=csv`); with `fields` there is no header (`--format=csv,noheader`) and the columns
 * are the given fields in order. Unit suffixes on values are optional (`nounits` or not) but,
 * when present, must be the column's unit. Blank lines and repeated header lines are skipped.
 *
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` when the header is not a header, a row has the
 *   wrong number of columns, or a value carries a unit other than its column's
 */
export function parseNvidiaSmiCsv(
  text: string,
  opts: { fields?: readonly string[] } = {},
): NvidiaSmiTable {
  const lines = text.split(/\r?\n/);
  let fields: string[] | undefined;
  let units: (string | undefined)[] = [];
  let headerLine: string | undefined;
  if (opts.fields) {
    if (opts.fields.length === 0) throw new TelemetryError('CONFIG_INVALID', 'no fields');
    fields = opts.fields.map(canonicalField);
    units = fields.map((f) => NVIDIA_SMI_UNITS[f]);
  }
  const rows: NvidiaSmiRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (fields === undefined) {
      const parsed = cells.map((c) => HEADER_CELL_RE.exec(c));
      if (parsed.some((m) => m === null)) {
        throw new TelemetryError(
          'TELEMETRY_MALFORMED',
          `line ${i + 1}: expected an nvidia-smi CSV header`,
        );
      }
      fields = parsed.map((m) => canonicalField(m![1]!));
      units = parsed.map((m) => m![2]);
      headerLine = line;
      continue;
    }
    if (line === headerLine) continue;
    if (cells.length !== fields.length) {
      throw new TelemetryError(
        'TELEMETRY_MALFORMED',
        `line ${i + 1}: ${cells.length} columns, expected ${fields.length}`,
      );
    }
    const row: NvidiaSmiRow = {};
    for (let c = 0; c < cells.length; c++) {
      const field = fields[c]!;
      const raw = cells[c]!;
      if (isUnavailable(raw)) {
        row[field] = undefined;
        continue;
      }
      const unit = units[c];
      const sp = raw.lastIndexOf(' ');
      if (unit !== undefined && sp > 0 && raw.slice(sp + 1) === unit) {
        row[field] = raw.slice(0, sp);
      } else if (unit !== undefined && /^-?\d+(?:\.\d+)? \S+$/.test(raw)) {
        throw new TelemetryError(
          'TELEMETRY_MALFORMED',
          `line ${i + 1}: ${field} has unit "${raw.slice(sp + 1)}", expected "${unit}"`,
        );
      } else {
        row[field] = raw;
      }
    }
    rows.push(row);
  }
  if (fields === undefined) throw new TelemetryError('TELEMETRY_MALFORMED', 'no CSV header');
  return { fields, units, rows };
}

const NUMBER_RE = /^-?\d+(?:\.\d+)?$/;

function num(row: NvidiaSmiRow, field: string): number | undefined {
  const v = row[field];
  if (v === undefined) return undefined;
  if (!NUMBER_RE.test(v)) {
    throw new TelemetryError('TELEMETRY_MALFORMED', `${field}: "${v}" is not a number`);
  }
  return Number(v);
}

const TS_RE = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})$/;

/**
 * Parses an nvidia-smi timestamp (`YYYY/MM/DD HH:MM:SS.mmm`, the host's local time) to Unix ms.
 * The node runs nvidia-smi with `TZ=UTC`, so the default offset is 0.
 * @param utcOffsetMinutes the offset of the host's zone east of UTC (e.g. 60 for CET)
 * @throws {TelemetryError} `TELEMETRY_MALFORMED` when the text is not such a timestamp or
 *   names an impossible date
 */
export function parseNvidiaSmiTimestamp(s: string, utcOffsetMinutes = 0): number {
  const m = TS_RE.exec(s);
  if (!m) throw new TelemetryError('TELEMETRY_MALFORMED', `bad nvidia-smi timestamp "${s}"`);
  const [y, mo, d, h, mi, se, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const t = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  const back = new Date(t);
  if (
    back.getUTCFullYear() !== y ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== se
  ) {
    throw new TelemetryError('TELEMETRY_MALFORMED', `impossible nvidia-smi timestamp "${s}"`);
  }
  return t - utcOffsetMinutes * 60_000;
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Prints Unix ms the way nvidia-smi prints `timestamp` (in UTC, i.e. nvidia-smi run with TZ=UTC). */
export function formatNvidiaSmiTimestamp(t: number): string {
  const d = new Date(t);
  return (
    `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.` +
    pad(d.getUTCMilliseconds(), 3)
  );
}

/** Options for turning a parsed row into a {@link GpuSample}. */
export interface RowToSampleOptions {
  /** Offset of the zone nvidia-smi printed its timestamps in, minutes east of UTC (default 0). */
  utcOffsetMinutes?: number;
  /** Time to use when the row has no `timestamp` column (e.g. the poll time). */
  fallbackTime?: number;
  /** Host name to stamp on the sample. */
  host?: string;
}

/**
 * Converts one parsed row to a sample. Power is `power.draw` (a 1 s average on Ampere and
 * newer), else `power.draw.average`, else `power.draw.instant`. `utilization.gpu` (percent)
 * becomes a fraction. nvidia-smi has no energy counter and no tensor activity: those stay absent.
 *
 * @throws {TelemetryError} `TELEMETRY_INCOMPLETE` when uuid, name, power or time is missing;
 *   `TELEMETRY_MALFORMED` when a numeric field is not a number or out of range
 */
export function nvidiaSmiRowToSample(row: NvidiaSmiRow, opts: RowToSampleOptions = {}): GpuSample {
  const uuid = row['uuid'];
  const model = row['name'];
  if (uuid === undefined) throw new TelemetryError('TELEMETRY_INCOMPLETE', 'row has no uuid');
  if (model === undefined) throw new TelemetryError('TELEMETRY_INCOMPLETE', 'row has no name');
  const ts = row['timestamp'];
  let t: number;
  if (ts !== undefined) t = parseNvidiaSmiTimestamp(ts, opts.utcOffsetMinutes ?? 0);
  else if (opts.fallbackTime !== undefined) t = opts.fallbackTime;
  else throw new TelemetryError('TELEMETRY_INCOMPLETE', `${uuid}: row has no timestamp`);
  const powerW =
    num(row, 'power.draw') ?? num(row, 'power.draw.average') ?? num(row, 'power.draw.instant');
  if (powerW === undefined) {
    throw new TelemetryError('TELEMETRY_INCOMPLETE', `${uuid}: no power reading`);
  }
  if (powerW < 0) throw new TelemetryError('TELEMETRY_MALFORMED', `${uuid}: negative power`);
  const s: GpuSample = { t, uuid, model, powerW };
  const util = num(row, 'utilization.gpu');
  if (util !== undefined) {
    if (util < 0 || util > 100) {
      throw new TelemetryError('TELEMETRY_MALFORMED', `${uuid}: utilization.gpu ${util}`);
    }
    s.utilGpu = util / 100;
  }
  const mem = num(row, 'memory.used');
  if (mem !== undefined && mem >= 0) s.memUsedMiB = mem;
  const clk = num(row, 'clocks.current.sm');
  if (clk !== undefined && clk >= 0) s.smClockMHz = clk;
  if (opts.host !== undefined) s.host = opts.host;
  return s;
}

/** Options for {@link formatNvidiaSmiCsv}. */
export interface FormatCsvOptions {
  /** Fields to print, in order (canonical names or aliases). */
  fields: readonly string[];
  /** Print the header line (`--format=csv`); default true. */
  header?: boolean;
  /** Print units after values (not `nounits`); default true. */
  units?: boolean;
}

function sampleValue(s: GpuSample, field: string): string | undefined {
  switch (field) {
    case 'timestamp':
      return formatNvidiaSmiTimestamp(s.t);
    case 'uuid':
      return s.uuid;
    case 'name':
      return s.model;
    case 'power.draw':
      return s.powerW.toFixed(2);
    case 'utilization.gpu':
      return s.utilGpu === undefined ? undefined : String(Math.round(s.utilGpu * 100));
    case 'memory.used':
      return s.memUsedMiB === undefined ? undefined : String(Math.round(s.memUsedMiB));
    case 'clocks.current.sm':
      return s.smClockMHz === undefined ? undefined : String(Math.round(s.smClockMHz));
    default:
      return undefined;
  }
}

/**
 * Prints samples the way nvidia-smi prints them (power to 0.01 W, utilisation, memory and clock
 * as integers, unavailable values as `[N/A]`). Used by replays and by the parser's property tests.
 */
export function formatNvidiaSmiCsv(samples: readonly GpuSample[], opts: FormatCsvOptions): string {
  const fields = opts.fields.map(canonicalField);
  const withUnits = opts.units ?? true;
  const out: string[] = [];
  if (opts.header ?? true) {
    out.push(
      fields
        .map((f) =>
          NVIDIA_SMI_UNITS[f] && f !== 'timestamp' ? `${f} [${NVIDIA_SMI_UNITS[f]}]` : f,
        )
        .join(', '),
    );
  }
  for (const s of samples) {
    out.push(
      fields
        .map((f) => {
          const v = sampleValue(s, f);
          if (v === undefined) return '[N/A]';
          const u = NVIDIA_SMI_UNITS[f];
          return withUnits && u ? `${v} ${u}` : v;
        })
        .join(', '),
    );
  }
  return out.join('\n') + '\n';
}
