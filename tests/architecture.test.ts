import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The pure core: protocol, crypto, notes, checkpoints, Merkle, policies, verification rules. */
const PURE_DIRS = [
  'protocol/src',
  'src/core',
  'src/crypto',
  'src/note',
  'src/tlog',
  'src/merkle',
  'src/policy',
];
const PURE_FILES = [
  'src/verifier/physics.ts',
  'src/verifier/stats.ts',
  'src/verifier/prng.ts',
  'src/verifier/evaluate.ts',
  'src/verifier/decode.ts',
  'src/verifier/timeline.ts',
  'src/verifier/authenticity.ts',
  'src/verifier/findings.ts',
  'src/verifier/compact-range.ts',
  'src/verifier/log-index.ts',
  'src/verifier/bundle.ts',
  'src/verifier/report.ts',
  'src/verifier/errors.ts',
];
const FORBIDDEN = [
  /^node:(fs|fs\/promises|net|http|https|http2|child_process|dgram|worker_threads)$/,
  /^(fs|net|http|https|child_process)$/,
  /^pg$/,
  /^better-sqlite3$/,
  /^hono(\/|$)/,
  /^@hono\//,
];

function walk(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function importsOf(src: string): string[] {
  const re =
    /(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const out: string[] = [];
  for (const m of src.matchAll(re)) out.push((m[1] ?? m[2])!);
  return out;
}

describe('the pure core', () => {
  const root = process.cwd();
  const files = [
    ...PURE_DIRS.flatMap((d) => walk(join(root, d))),
    ...PURE_FILES.map((f) => join(root, f)),
  ].filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });

  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it('imports no I/O module (fs, net, http, child_process, pg, better-sqlite3, hono)', () => {
    const offenders: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(readFileSync(f, 'utf8'))) {
        if (FORBIDDEN.some((re) => re.test(spec))) offenders.push(`${relative(root, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the import scanner itself catches a forbidden import', () => {
    const specs = importsOf("import { readFile } from 'node:fs/promises';\nimport x from 'pg';");
    expect(specs.filter((s) => FORBIDDEN.some((re) => re.test(s)))).toEqual([
      'node:fs/promises',
      'pg',
    ]);
  });
});
