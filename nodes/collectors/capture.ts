/**
 * Reader for the nvidia-smi capture files in shared/fixtures/telemetry (from
 * nvidia_gpu_exporter's `internal/captures/`): a preamble, then sections, each opened by a banner
 *
 *     ################################################################################
 *     # load :: query-gpu (csv, what the exporter parses)
 *     # $ nvidia-smi --query-gpu=… --format=csv
 *     ################################################################################
 *
 * followed by the command's verbatim output. Pure: no I/O.
 */
import { type NvidiaSmiTable, parseNvidiaSmiCsv } from './nvidia-smi-csv.js';

/** One section of a capture. */
export interface CaptureSection {
  /** Part before `::` in the banner: `capabilities`, `idle`, `load`. */
  phase: string;
  /** Part after `::`, e.g. `query-gpu (csv, what the exporter parses)`. */
  title: string;
  /** The command after `# $ `, when the banner names one. */
  command?: string;
  /** The output, without trailing blank lines. */
  body: string;
  /** 1-based line number of the banner's title line. */
  line: number;
}

const RULE_RE = /^#{20,}\s*$/;
const TITLE_RE = /^# (\S+) :: (.+?)\s*$/;
const CMD_RE = /^# \$ (.*?)\s*$/;

/** Splits a capture into its sections, in file order. Lines before the first section are dropped. */
export function splitCapture(text: string): CaptureSection[] {
  const lines = text.split(/\r?\n/);
  const out: CaptureSection[] = [];
  let cur: { s: CaptureSection; body: string[] } | undefined;
  const close = () => {
    if (!cur) return;
    const body = cur.body;
    while (body.length > 0 && body[body.length - 1]!.trim() === '') body.pop();
    cur.s.body = body.join('\n');
    out.push(cur.s);
    cur = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const title = RULE_RE.test(lines[i]!) ? TITLE_RE.exec(lines[i + 1] ?? '') : null;
    if (!title) {
      cur?.body.push(lines[i]!);
      continue;
    }
    close();
    const s: CaptureSection = { phase: title[1]!, title: title[2]!, body: '', line: i + 2 };
    let j = i + 2;
    for (; j < lines.length && !RULE_RE.test(lines[j]!); j++) {
      const cmd = CMD_RE.exec(lines[j]!);
      if (cmd && s.command === undefined) s.command = cmd[1]!;
    }
    cur = { s, body: [] };
    i = j; // the closing rule
  }
  close();
  return out;
}

/** The `--query-gpu … --format=csv` sections of a capture, parsed, with their phase. */
export function captureQueryGpuTables(
  text: string,
): Array<{ phase: string; table: NvidiaSmiTable }> {
  return splitCapture(text)
    .filter((s) => s.title.startsWith('query-gpu ') && s.command?.includes('--query-gpu='))
    .map((s) => ({ phase: s.phase, table: parseNvidiaSmiCsv(s.body) }));
}

/** The body of the capture's `--help-query-gpu` section, or undefined. */
export function captureHelpQueryGpu(text: string): string | undefined {
  return splitCapture(text).find((s) => s.command === 'nvidia-smi --help-query-gpu')?.body;
}
