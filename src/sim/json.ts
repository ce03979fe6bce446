/**
 * Deterministic JSON for result files: object keys sorted, numbers as JavaScript prints them,
 * `undefined` members left out, non-finite numbers written as null. The same value always gives
 * the same bytes, whatever order its keys were created in.
 */

function write(v: unknown, indent: string | undefined, out: string[]): void {
  if (v === null || v === undefined) {
    out.push('null');
    return;
  }
  switch (typeof v) {
    case 'number':
      out.push(Number.isFinite(v) ? JSON.stringify(v) : 'null');
      return;
    case 'string':
    case 'boolean':
      out.push(JSON.stringify(v));
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`stableJson: cannot write a ${typeof v}`);
  }
  const inner = indent === undefined ? undefined : `${indent}  `;
  const open = (c: string) => out.push(inner === undefined ? c : `${c}\n`);
  const sep = (last: boolean) =>
    out.push(last ? (inner === undefined ? '' : '\n') : inner === undefined ? ',' : ',\n');
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    open('[');
    v.forEach((x, i) => {
      if (inner !== undefined) out.push(inner);
      write(x, inner, out);
      sep(i === v.length - 1);
    });
    out.push(indent === undefined ? ']' : `${indent}]`);
    return;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  if (keys.length === 0) {
    out.push('{}');
    return;
  }
  open('{');
  keys.forEach((k, i) => {
    out.push(inner === undefined ? `${JSON.stringify(k)}:` : `${inner}${JSON.stringify(k)}: `);
    write(o[k], inner, out);
    sep(i === keys.length - 1);
  });
  out.push(indent === undefined ? '}' : `${indent}}`);
}

/**
 * Serialises `v` deterministically (sorted keys, two-space indentation) with a final newline.
 * @throws {TypeError} for values JSON cannot hold (functions, symbols, bigints)
 */
export function stableJson(v: unknown): string {
  const out: string[] = [];
  write(v, '', out);
  out.push('\n');
  return out.join('');
}

/**
 * One line of sorted-key JSON, without a newline (for JSON-lines files).
 * @throws {TypeError} as {@link stableJson}
 */
export function stableLine(v: unknown): string {
  const out: string[] = [];
  write(v, undefined, out);
  return out.join('');
}
