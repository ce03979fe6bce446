/**
 * results.csv: one row per sweep point and strategy group (the honest labs' false alarms are the
 * row of the group `honest`). RFC 4180 quoting; numbers as JavaScript prints them.
 */
import type { Results } from '../runner.js';

const COLUMNS = [
  'group',
  'strategy',
  'labs',
  'runs',
  'detection',
  'detection_lo',
  'detection_hi',
  'detection_any_look',
  'flagged',
  'ttd_median_h',
  'ttd_mean_h',
  'ttd_p90_h',
  'hidden_flop_mean',
  'gained_before_detection_flop_mean',
  'undetected_flop_mean',
  'min_hidden_flop_mean',
  'deterrence_required_p',
  'deterred',
  'false_alarm',
  'false_alarm_lo',
  'false_alarm_hi',
] as const;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV text of a results document. */
export function resultsCsv(r: Results): string {
  const params = r.sweep.map((s) => s.path);
  const rows: string[] = [[...params, ...COLUMNS].map(cell).join(',')];
  for (const pt of r.points) {
    const pv = params.map((p) => pt.params[p]);
    const h = pt.metrics.honest;
    for (const g of pt.metrics.groups) {
      rows.push(
        [
          ...pv,
          g.group,
          g.strategy,
          g.labs.join(' '),
          g.runs,
          g.detection.p,
          g.detection.lo,
          g.detection.hi,
          g.detectionAnyLook.p,
          g.flagged.p,
          g.timeToDetectionHours.median,
          g.timeToDetectionHours.mean,
          g.timeToDetectionHours.p90,
          g.hiddenFlop.mean,
          g.gainedBeforeDetectionFlop.mean,
          g.undetectedFlop.mean,
          g.minHiddenFlop.mean,
          g.deterrence.required,
          g.deterrence.deterred,
          h.falseAlarm.p,
          h.falseAlarm.lo,
          h.falseAlarm.hi,
        ]
          .map(cell)
          .join(','),
      );
    }
    rows.push(
      [
        ...pv,
        'honest',
        'honest',
        '',
        h.labRuns,
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        h.falseAlarm.p,
        h.falseAlarm.lo,
        h.falseAlarm.hi,
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}
