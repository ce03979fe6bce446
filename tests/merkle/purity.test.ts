/**
 * The Merkle core and tlog-proof code are pure (STYLE.md, practice 1): they import no I/O
 * module, so they run the same in the log, the verifier, a browser or a test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const FILES = [
  ...readdirSync(path.join(ROOT, 'src/merkle')).map((f) => `src/merkle/${f}`),
  'src/tlog/proof.ts',
].filter((f) => f.endsWith('.ts'));

const FORBIDDEN =
  /^(node:)?(fs|fs\/promises|net|http|https|http2|child_process|dgram|worker_threads)$|^(pg|better-sqlite3|hono|@hono\/.*)$/;

describe('the Merkle core', () => {
  it.each(FILES)('%s imports no I/O module', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const imports = [...text.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]!);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => FORBIDDEN.test(i))).toEqual([]);
  });
});
