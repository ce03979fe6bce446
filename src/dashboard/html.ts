/**
 * HTML built from tagged templates that escape every interpolated value. Everything the dashboard
 * shows that comes from the log (lab names, node names, key IDs, finding messages, payloads) is
 * attacker-controlled text, so the only way to put markup into a page is a value that is already
 * {@link Html}: built by `html` itself, or wrapped with {@link trusted} (used for the SVG that
 * ECharts renders, which escapes its own text). Pure: no I/O.
 */

/** A fragment of HTML that is safe to concatenate as is. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What a template may interpolate: nested fragments, text, numbers, lists; nothing for null. */
export type Child = Html | string | number | boolean | null | undefined | readonly Child[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(v: Child): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return (v as readonly Child[]).map(render).join('');
  return escapeHtml(String(v));
}

/** The tagged template: literal parts as written, every value escaped (unless already Html). */
export function html(strings: TemplateStringsArray, ...values: Child[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Marks markup produced by trusted code (never text from the log) as safe. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** A path built from segments, each percent-encoded (the result still goes through `html`). */
export function path(...segments: (string | number)[]): string {
  return `/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}
