/**
 * report.html: one self-contained page (inline SVG plots and styles, no script, no network):
 * the headline table per strategy, the honest false-alarm rate against the policy's alpha, what
 * each strategy was expected to meet, the deterrence condition, the plots, the formulas, the
 * assumptions and the scenario itself. Strategies the regime does not catch are listed like the
 * others, with the compute they gained.
 */
import type { GroupMetrics, Proportion } from '../metrics.js';
import type { Results } from '../runner.js';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function pct(p: Proportion): string {
  if (p.p === null) return '–';
  return `${(p.p * 100).toFixed(1)} % <span class="ci">[${((p.lo ?? 0) * 100).toFixed(1)}, ${((p.hi ?? 0) * 100).toFixed(1)}]</span>`;
}

function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined) return '–';
  if (x === 0) return '0';
  return Math.abs(x) >= 1e5 || Math.abs(x) < 1e-2
    ? x.toExponential(digits - 1)
    : x.toPrecision(digits);
}

function verdictText(g: GroupMetrics): string {
  const p = g.detection.p ?? 0;
  if (g.beyondFalseAlarms === false && (g.hiddenFlop.mean ?? 0) > 0) {
    return p === 0
      ? '<b class="miss">undetected</b>, compute gained'
      : '<b class="miss">undetected</b> (no more often than false alarms), compute gained';
  }
  if (p === 0) return 'not detected';
  if (p === 1) return 'detected in every run';
  return `detected in ${(p * 100).toFixed(0)} % of runs`;
}

function groupRows(gs: GroupMetrics[]): string {
  return gs
    .map(
      (g) => `<tr>
<td><b>${esc(g.group)}</b><br><span class="small">${esc(g.strategy)} · ${esc(g.labs.join(', '))}</span></td>
<td>${verdictText(g)}</td>
<td>${pct(g.detection)}</td>
<td>${pct(g.detectionAnyLook)}</td>
<td>${pct(g.flagged)}</td>
<td>${num(g.timeToDetectionHours.median)}</td>
<td>${num(g.hiddenFlop.mean)}</td>
<td>${num(g.gainedBeforeDetectionFlop.mean)}</td>
<td>${num(g.undetectedFlop.mean)}</td>
<td>${num(g.minHiddenFlop.mean)}</td>
<td>${num(g.deterrence.required)}${g.deterrence.deterred === null ? '' : g.deterrence.deterred ? ' ✔' : ' ✘'}</td>
<td class="small">${esc(
        Object.entries(g.codes)
          .map(([c, s]) => `${c} ${(s * 100).toFixed(0)}%`)
          .join(', ') || '–',
      )}</td>
</tr>`,
    )
    .join('\n');
}

/** The report page. */
export function reportHtml(r: Results, svgs: Map<string, string>, scenarioText: string): string {
  const sc = r.scenario;
  const pointsHtml = r.points
    .map((pt, i) => {
      const m = pt.metrics;
      const h = m.honest;
      const params = Object.entries(pt.params);
      const head =
        params.length > 0
          ? `<h3>Point ${i + 1}: ${esc(params.map(([k, v]) => `${k} = ${v}`).join(', '))}</h3>`
          : '';
      const within =
        h.falseAlarm.lo === null
          ? ''
          : h.falseAlarm.lo <= h.alpha
            ? 'consistent with alpha'
            : '<b class="miss">above alpha</b>';
      const honest =
        h.labRuns === 0
          ? '<p>No honest lab in this scenario: no false-alarm rate.</p>'
          : `<p>Honest labs: false-alarm rate ${pct(h.falseAlarm)} over ${h.labRuns} lab-runs (policy alpha ${h.alpha}: ${within});
at any evaluation during the run ${pct(h.falseAlarmAnyLook)}; alarms about the log ${pct(h.logAlarm)}.</p>`;
      return `${head}
${honest}
<table>
<thead><tr><th>strategy</th><th>outcome</th><th>detection (final)</th><th>any evaluation</th><th>flagged (incl. inconclusive)</th>
<th>time to detection, median h</th><th>hidden FLOP, mean</th><th>gained before detection</th><th>undetected FLOP</th>
<th>detection bound (FLOP)</th><th>p* to deter</th><th>findings seen</th></tr></thead>
<tbody>
${groupRows(m.groups)}
</tbody></table>`;
    })
    .join('\n');
  const expectations = r.points[0]!.metrics.groups.map(
    (g) => `<li><b>${esc(g.group)}</b> (${esc(g.strategy)}): ${esc(g.expectation)}</li>`,
  ).join('\n');
  const figures = [...svgs]
    .map(([name, svg]) => `<figure>${svg}<figcaption>${esc(name)}</figcaption></figure>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>vpause simulation: ${esc(sc.name)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f3f3}.ci{color:#666;font-size:11px}.small{color:#555;font-size:11px}.miss{color:#b00}
figure{display:inline-block;margin:1em}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
code{background:#f3f3f3;padding:0 3px}
</style></head><body>
<h1>vpause simulation: ${esc(sc.name)}</h1>
<p>${esc(sc.description ?? '')}</p>
<p>${sc.runs} runs per point · seed ${sc.seed} · mode <code>${sc.mode}</code> · ${sc.durationHours} h per run · policy alpha ${sc.alpha} · scenario hash <code>${sc.hash}</code></p>
<h2>Results</h2>
${pointsHtml}
<h2>What each strategy was expected to meet</h2>
<ul>${expectations}</ul>
<h2>Deterrence (inspection game)</h2>
<p>${esc(r.formulas.deterrence ?? '')}. A ✔ in the table means the observed detection probability (its Wilson lower bound) reaches p*; ✘ that it does not; p* above 1 means no detection rate deters at these stakes.</p>
<h2>Plots</h2>
${figures}
<h2>How the metrics are computed</h2>
<ul>${Object.entries(r.formulas)
    .map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`)
    .join('\n')}</ul>
<h2>Assumptions</h2>
<ul>${r.assumptions.map((a) => `<li>${esc(a)}</li>`).join('\n')}</ul>
<h2>Scenario</h2>
<pre>${esc(scenarioText)}</pre>
</body></html>
`;
}
