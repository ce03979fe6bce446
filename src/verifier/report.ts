/**
 * The human summary of a verdict, and the CLI's exit status for it. Pure.
 */
import type { Verdict, VerdictValue } from '../../protocol/src/verdict.js';

/** Exit status of `vpause verify` and `vpause verify-bundle` per verdict; 3 = could not run. */
export const EXIT_STATUS: Readonly<Record<VerdictValue, number>> = Object.freeze({
  compliant: 0,
  violation: 1,
  inconclusive: 2,
});
export const EXIT_COULD_NOT_RUN = 3;

function num(x: number): string {
  if (x === 0) return '0';
  if (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-2) return x.toExponential(2);
  return String(Math.round(x * 100) / 100);
}

/** A few lines a person reads: the verdict, the checkpoint, each finding, the detection bound. */
export function formatVerdict(v: Verdict): string {
  const out: string[] = [];
  out.push(
    `${v.verdict.toUpperCase()}: lab ${v.lab}, pause ${v.pause}, window ${v.window.from} – ${v.window.to} (as of ${v.asOf})`,
  );
  if (v.checkpoint === null) out.push('checkpoint: none');
  else {
    out.push(
      `checkpoint: ${v.checkpoint.origin} size ${v.checkpoint.size}, quorum ${v.checkpoint.quorum ? 'met' : 'NOT met'} (${v.checkpoint.cosignedBy.join(', ') || 'no cosignatures'})`,
    );
  }
  const s = v.summary;
  out.push(
    `reports: ${s.reports} of ${s.expectedReports} due from ${s.nodes} node(s) over ${s.intervals} interval(s)` +
      `${s.pendingReports > 0 ? `, ${s.pendingReports} not yet due` : ''}; ${s.meterReadings} meter reading(s); ${s.statements} statement(s) used`,
  );
  if (v.findings.length === 0) out.push('findings: none');
  else out.push(`findings (${v.findings.length}):`);
  for (const f of v.findings) {
    const ev = f.evidence
      .slice(0, 4)
      .map((e) => `#${e.index} ${e.leafHash.slice(0, 12)}`)
      .join(', ');
    const more = f.evidence.length - 4 + (f.evidenceOmitted ?? 0);
    out.push(`  [${f.severity}] ${f.code}: ${f.message}`);
    if (ev !== '') out.push(`      evidence: ${ev}${more > 0 ? `, … ${more} more` : ''}`);
  }
  const d = v.detection;
  if (d === null) out.push('detection: no facility in scope');
  else if (d.minHiddenFlop === null) {
    out.push(
      `detection: no bound (no metered facility could be checked: ${d.unmetered.join(', ') || 'none'})`,
    );
  } else {
    out.push(
      `detection: the physics check would catch hidden compute of ≥ ${num(d.minHiddenFlop)} FLOP ` +
        `(${num(d.minHiddenGpuHoursH100!)} H100-GPU-hours) with probability ≥ ${d.probability} at false-alarm rate ${d.alpha}`,
    );
    for (const f of d.facilities) {
      out.push(
        `  ${f.facility}: ${num(f.minHiddenFlop)} FLOP, ${num(f.minHiddenGpuHoursH100)} H100-hours ` +
          `(${num(f.minHiddenJ)} J at the meter: ${num(f.statisticalJ)} J meter noise, ${num(f.pueSlackJ)} J PUE range) over ${f.intervals} interval(s)${f.alarm ? ' — ALARM' : ''}`,
      );
    }
    if (d.unmetered.length > 0) out.push(`  not bounded: ${d.unmetered.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}
