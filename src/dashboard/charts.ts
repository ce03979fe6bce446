/**
 * The timeline charts, rendered on the server to SVG strings with Apache ECharts (no browser, no
 * client script): reported compute against the declared limit, and per facility the meter energy
 * against the reported GPU energy and the band the reports explain at the facility's PUE range.
 * ECharts escapes the text it draws, so the SVG can be placed in a page as is. Pure: no I/O.
 */
import * as echarts from 'echarts';
import type { FacilityTimeline, LabTimeline } from './timeline.js';

const WIDTH = 920;
const HEIGHT = 300;
const COLORS = {
  meter: '#c2410c',
  gpu: '#1d4ed8',
  band: 'rgba(22, 163, 74, 0.30)',
  bandEdge: '#16a34a',
  flop: '#7c3aed',
  limit: '#b91c1c',
};

const PREFIXES: [number, string][] = [
  [1e24, 'Y'],
  [1e21, 'Z'],
  [1e18, 'E'],
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** `value` with an SI prefix and `unit` (3 significant digits). */
export function si(value: number, unit: string): string {
  if (!Number.isFinite(value)) return `${value} ${unit}`;
  const a = Math.abs(value);
  for (const [f, p] of PREFIXES) {
    if (a >= f) return `${Number((value / f).toPrecision(3))} ${p}${unit}`;
  }
  return `${Number(value.toPrecision(3))} ${unit}`;
}

function render(option: echarts.EChartsCoreOption, height = HEIGHT): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({
      animation: false,
      useUTC: true,
      textStyle: { fontFamily: 'system-ui, sans-serif' },
      ...option,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const points = (starts: number[], I: number, ys: (number | null)[]) =>
  starts.map((s, j) => [(s + I / 2) * 1000, ys[j] ?? null]);

/** A time axis over the plotted intervals (the same range on every chart of a timeline). */
const axes = (t: LabTimeline, unit: string) => ({
  xAxis: {
    type: 'time',
    axisLabel: { hideOverlap: true },
    ...(t.starts.length > 0
      ? { min: t.starts[0]! * 1000, max: (t.starts.at(-1)! + t.intervalSeconds) * 1000 }
      : {}),
  },
  yAxis: {
    type: 'value',
    axisLabel: { formatter: (v: number) => si(v, unit) },
    splitLine: { lineStyle: { color: '#e5e7eb' } },
  },
});

/** Reported FLOP per interval, summed over the lab's nodes, against the pause's limit. */
export function computeChart(t: LabTimeline): string {
  const I = t.intervalSeconds;
  return render({
    title: {
      text: `Reported compute per ${I} s interval`,
      left: 8,
      textStyle: { fontSize: 14 },
    },
    legend: { bottom: 0, left: 'center', itemGap: 24 },
    grid: { left: 90, right: 24, top: 52, bottom: 64 },
    ...axes(t, 'FLOP'),
    series: [
      {
        name: 'reported FLOP',
        type: 'bar',
        barMaxWidth: 8,
        itemStyle: { color: COLORS.flop },
        data: points(t.starts, I, t.flop),
      },
      {
        name: `limit (maxFlopPerDay × ${I} s / 1 day)`,
        type: 'line',
        symbol: 'none',
        lineStyle: { type: 'dashed', color: COLORS.limit, width: 1.5 },
        itemStyle: { color: COLORS.limit },
        data:
          t.starts.length === 0
            ? []
            : points(
                t.starts,
                I,
                t.starts.map(() => t.flopLimitPerInterval),
              ),
      },
    ],
  });
}

/** One facility: meter energy against reported GPU energy and the PUE band. */
export function energyChart(t: LabTimeline, f: FacilityTimeline): string {
  const I = t.intervalSeconds;
  const series: object[] = [];
  if (f.params !== undefined) {
    const lo = f.expectedMinJ;
    const width = f.expectedMaxJ.map((hi, j) =>
      hi === null || lo[j] === null ? null : hi - lo[j]!,
    );
    series.push(
      {
        name: 'band-base',
        type: 'line',
        stack: 'band',
        symbol: 'none',
        lineStyle: { color: COLORS.bandEdge, width: 1, type: 'dotted' },
        data: points(t.starts, I, lo),
      },
      {
        name: `expected at PUE ${f.params.pueMin}–${f.params.pueMax} + baseline`,
        type: 'line',
        stack: 'band',
        symbol: 'none',
        lineStyle: { color: COLORS.bandEdge, width: 1, type: 'dotted' },
        itemStyle: { color: COLORS.band },
        areaStyle: { color: COLORS.band },
        data: points(t.starts, I, width),
      },
    );
  }
  series.push(
    {
      name: 'reported GPU energy',
      type: 'line',
      symbol: 'none',
      lineStyle: { color: COLORS.gpu, width: 1.5 },
      itemStyle: { color: COLORS.gpu },
      data: points(t.starts, I, f.gpuJ),
    },
    {
      name: `meter energy${f.meters.length > 0 ? ` (${f.meters.join(', ')})` : ''}`,
      type: 'line',
      symbol: 'none',
      lineStyle: { color: COLORS.meter, width: 2 },
      itemStyle: { color: COLORS.meter },
      data: points(t.starts, I, f.meterJ),
    },
  );
  return render({
    title: {
      text: `Facility ${f.facility}: energy per ${I} s interval`,
      left: 8,
      textStyle: { fontSize: 14 },
    },
    legend: {
      bottom: 0,
      left: 'center',
      itemGap: 24,
      data: series.map((s) => (s as { name: string }).name).filter((name) => name !== 'band-base'),
    },
    grid: { left: 90, right: 24, top: 52, bottom: 64 },
    ...axes(t, 'J'),
    series,
  });
}
