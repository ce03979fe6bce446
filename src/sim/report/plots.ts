/**
 * The result plots, drawn with Apache ECharts rendered server-side to SVG strings (no browser,
 * no DOM): detection per strategy with its confidence interval, time to detection (share of runs
 * detected within h hours of the cheat's start), ROC over the policy alpha (the physics check's
 * CUSUM threshold and balance level move with it), compute gained before detection, and, for
 * sweeps, detection against the swept parameter. Pure: returns SVG text.
 */
import * as echarts from 'echarts';
import type { Results } from '../runner.js';

const W = 760;
const H = 420;
const PALETTE = [
  '#4269d0',
  '#efb118',
  '#ff725c',
  '#6cc5b0',
  '#3ca951',
  '#ff8ab7',
  '#a463f2',
  '#97bbf5',
  '#9c6b4e',
  '#9498a0',
  '#222222',
];

function render(option: echarts.EChartsCoreOption, width = W, height = H): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({
    animation: false,
    color: PALETTE,
    textStyle: { fontFamily: 'sans-serif' },
    ...option,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

const title = (text: string, subtext?: string) => ({
  text,
  subtext,
  left: 'center',
  textStyle: { fontSize: 15 },
});

/** Detection probability (final verdict) per strategy, with its 95 % Wilson interval. */
export function detectionPlot(r: Results, point = 0): string {
  const m = r.points[point]!.metrics;
  const withHonest = m.honest.labRuns > 0;
  const names = [...m.groups.map((g) => g.group), ...(withHonest ? ['honest (false alarm)'] : [])];
  const props = [...m.groups.map((g) => g.detection), ...(withHonest ? [m.honest.falseAlarm] : [])];
  return render({
    title: title(
      'Detection probability per strategy',
      'final verdict; whiskers: 95 % Wilson interval',
    ),
    grid: { left: 60, right: 20, top: 70, bottom: 120 },
    xAxis: { type: 'category', data: names, axisLabel: { rotate: 30, interval: 0 } },
    yAxis: { type: 'value', min: 0, max: 1, name: 'P(detect)' },
    series: [
      {
        type: 'bar',
        data: props.map((p, i) => ({
          value: p.p ?? 0,
          itemStyle: { color: withHonest && i === props.length - 1 ? '#9498a0' : PALETTE[0] },
        })),
        label: {
          show: true,
          position: 'top',
          formatter: (x: { value: number }) => x.value.toFixed(2),
        },
      },
      {
        type: 'custom',
        name: '95 % CI',
        renderItem: (
          params: { dataIndex: number },
          api: { coord: (v: number[]) => number[]; value: (i: number) => number },
        ) => {
          const i = params.dataIndex;
          const lo = api.coord([i, api.value(1)]);
          const hi = api.coord([i, api.value(2)]);
          const x = lo[0]!;
          return {
            type: 'group',
            children: [
              {
                type: 'line',
                shape: { x1: x, y1: lo[1], x2: x, y2: hi[1] },
                style: { stroke: '#222', lineWidth: 1.5 },
              },
              {
                type: 'line',
                shape: { x1: x - 6, y1: lo[1], x2: x + 6, y2: lo[1] },
                style: { stroke: '#222', lineWidth: 1.5 },
              },
              {
                type: 'line',
                shape: { x1: x - 6, y1: hi[1], x2: x + 6, y2: hi[1] },
                style: { stroke: '#222', lineWidth: 1.5 },
              },
            ],
          };
        },
        data: props.map((p, i) => [i, p.lo ?? 0, p.hi ?? 0]),
        z: 10,
      },
    ],
  });
}

/** Share of runs detected within h hours of the strategy's start (any evaluation). */
export function timeToDetectionPlot(r: Results, point = 0): string {
  const m = r.points[point]!.metrics;
  const groups = m.groups.filter((g) => g.detectedWithin.length > 0);
  const maxH = Math.max(
    1,
    r.scenario.durationHours + 1,
    ...groups.flatMap((g) => g.detectedWithin.map((d) => d.hours)),
  );
  return render({
    title: title(
      'Time to detection',
      'share of runs with a violation finding within h hours of the cheat’s start',
    ),
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 60, right: 30, top: 70, bottom: 80 },
    xAxis: {
      type: 'value',
      name: 'hours after the cheat’s start',
      nameLocation: 'middle',
      nameGap: 26,
      min: 0,
      max: Math.ceil(maxH),
    },
    yAxis: { type: 'value', min: 0, max: 1, name: 'detected' },
    series: groups.map((g) => ({
      type: 'line',
      step: 'end',
      name: g.group,
      symbolSize: 5,
      data: [
        [0, 0],
        ...g.detectedWithin.map((d) => [d.hours, d.share]),
        [Math.ceil(maxH), g.detectedWithin.at(-1)!.share],
      ],
    })),
  });
}

/** ROC over the policy alpha: detection against the honest false-alarm rate. */
export function rocPlot(r: Results, point = 0): string {
  const m = r.points[point]!.metrics;
  const fa = m.honest.roc.map((x) => x.falseAlarm ?? 0);
  return render({
    title: title(
      'ROC over the policy alpha',
      'each point: one alpha (the physics check’s CUSUM threshold and balance level follow it)',
    ),
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 60, right: 30, top: 70, bottom: 80 },
    xAxis: {
      type: 'value',
      name: 'false-alarm rate (honest labs)',
      nameLocation: 'middle',
      nameGap: 26,
      min: 0,
      max: Math.max(0.05, ...fa),
    },
    yAxis: { type: 'value', name: 'detection', min: 0, max: 1 },
    series: m.groups.map((g) => ({
      type: 'line',
      name: g.group,
      symbolSize: 6,
      data: g.roc.map((x, i) => ({ value: [fa[i]!, x.detection ?? 0], name: `alpha ${x.alpha}` })),
    })),
  });
}

/** Mean hidden compute and compute gained before detection, per strategy (log scale). */
export function gainPlot(r: Results, point = 0): string {
  const m = r.points[point]!.metrics;
  const groups = m.groups.filter((g) => (g.hiddenFlop.mean ?? 0) > 0);
  return render({
    title: title(
      'Compute gained',
      'mean FLOP per run: all hidden compute, and what was gained before detection',
    ),
    legend: { bottom: 0 },
    grid: { left: 80, right: 20, top: 70, bottom: 130 },
    xAxis: {
      type: 'category',
      data: groups.map((g) => g.group),
      axisLabel: { rotate: 30, interval: 0 },
    },
    yAxis: {
      type: 'log',
      name: 'FLOP',
      logBase: 10,
      axisLabel: { formatter: (v: number) => v.toExponential(0) },
    },
    series: [
      { type: 'bar', name: 'hidden (total)', data: groups.map((g) => g.hiddenFlop.mean ?? 0) },
      {
        type: 'bar',
        name: 'gained before detection',
        data: groups.map((g) => Math.max(1, g.gainedBeforeDetectionFlop.mean ?? 0)),
      },
    ],
  });
}

/** Detection against the (first) swept parameter, a line per strategy (and per other values). */
export function sweepPlot(r: Results): string {
  const [first, ...rest] = r.sweep;
  if (first === undefined) return '';
  const key = (p: Record<string, number>) => rest.map((s) => `${s.path}=${p[s.path]}`).join(', ');
  const series = new Map<string, [number, number][]>();
  for (const pt of r.points) {
    for (const g of pt.metrics.groups) {
      const name = rest.length > 0 ? `${g.group} (${key(pt.params)})` : g.group;
      series.set(name, [...(series.get(name) ?? []), [pt.params[first.path]!, g.detection.p ?? 0]]);
    }
    if (pt.metrics.honest.labRuns === 0) continue;
    const hn = rest.length > 0 ? `honest false alarm (${key(pt.params)})` : 'honest false alarm';
    series.set(hn, [
      ...(series.get(hn) ?? []),
      [pt.params[first.path]!, pt.metrics.honest.falseAlarm.p ?? 0],
    ]);
  }
  return render({
    title: title(`Detection against ${first.path}`, 'final verdict, per strategy'),
    legend: { bottom: 0, type: 'scroll' },
    grid: { left: 60, right: 30, top: 70, bottom: 80 },
    xAxis: { type: 'value', name: first.path, nameLocation: 'middle', nameGap: 26, scale: true },
    yAxis: { type: 'value', min: 0, max: 1, name: 'P(detect)' },
    series: [...series].map(([name, data]) => ({ type: 'line', name, symbolSize: 6, data })),
  });
}

/** Every plot of a results document, by file name. */
export function plots(r: Results): Map<string, string> {
  const out = new Map<string, string>();
  if (r.sweep.length > 0) out.set('detection-vs-parameter.svg', sweepPlot(r));
  out.set('detection.svg', detectionPlot(r));
  out.set('time-to-detection.svg', timeToDetectionPlot(r));
  out.set('roc.svg', rocPlot(r));
  out.set('compute-gained.svg', gainPlot(r));
  return out;
}
