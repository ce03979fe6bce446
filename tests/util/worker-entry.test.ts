import { spawn } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerPreparer } from '../../src/log/prepare-pool.js';
import { startWorker, workerEntry, workerExecArgv } from '../../src/util/worker-entry.js';
import { InlineIngestor, WorkerIngestor } from '../../src/verifier/ingest.js';
import { TestLab } from '../helpers/world.js';

/**
 * Worker entries (src/util/worker-entry.ts): the pools start from esbuild bundles that answer as
 * the tsx entries do; a cached bundle is reused only while every input is unchanged and whole;
 * concurrent builders leave whole files; and anything that goes wrong gives the tsx entry.
 */

/** While `failing`, every file write stops halfway with ENOSPC, as on a full disk. */
const fault = vi.hoisted(() => ({ failing: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync: typeof fs.writeFileSync = (path, data, options) => {
    if (!fault.failing) return fs.writeFileSync(path, data, options);
    const half =
      typeof data === 'string'
        ? data.slice(0, data.length >> 1)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength >> 1);
    fs.writeFileSync(path, half, options);
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  };
  return { ...fs, writeFileSync };
});

const ROOT = process.cwd();
const MODULE = pathToFileURL(join(ROOT, 'src', 'util', 'worker-entry.ts')).href;
/** Stands in for a pool's tsx entry: only compared, never started. */
const TSX = new URL('file:///nowhere/worker.mjs');
/** Long enough ago that a build does not take the files for ones being edited. */
const PAST = Math.floor(Date.now() / 1000) - 3600;

/**
 * A worker entry of its own in a temp directory: `entry.ts` answers with `dep.ts`'s value. Its
 * files are dated an hour back unless `fresh`.
 */
function project(value = 1, fresh = false) {
  const age = fresh ? undefined : PAST;
  const dir = mkdtempSync(join(tmpdir(), 'vpause-worker-entry-'));
  const entry = join(dir, 'entry.ts');
  const dep = join(dir, 'dep.ts');
  writeFileSync(
    entry,
    [
      "import { parentPort } from 'node:worker_threads';",
      "import { value } from './dep.js';",
      'const answer: { value: number; argv: string[] } = { value, argv: process.execArgv };',
      'parentPort!.postMessage(answer);',
      '',
    ].join('\n'),
  );
  writeDep(dep, value, age);
  if (age !== undefined) utimesSync(entry, age, age);
  return { dir, entry, dep, url: pathToFileURL(entry), cache: join(dir, 'cache') };
}

function writeDep(path: string, value: number, age: number | undefined): void {
  writeFileSync(path, `export const value: number = ${value};\n`);
  if (age !== undefined) utimesSync(path, age, age);
}

/** What worker `w` first says; it is then terminated. */
function firstAnswer(w: Worker): Promise<{ value: number; argv: string[] }> {
  return new Promise((resolve, reject) => {
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the worker exited (${code}) without answering`)));
  });
}

/** What a worker started on `url` first says. */
function answer(url: URL, execArgv?: string[]): Promise<{ value: number; argv: string[] }> {
  return firstAnswer(new Worker(url, { execArgv }));
}

/** Sets a file's mtime to one no write gives it, so that `rewritten` tells whether it was. */
const MARK = PAST - 7;
function mark(path: string): void {
  utimesSync(path, MARK, MARK);
}
const rewritten = (path: string) => statSync(path).mtimeMs !== MARK * 1000;

const savedEnv = process.env.VPAUSE_WORKER_TSX;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.VPAUSE_WORKER_TSX;
  else process.env.VPAUSE_WORKER_TSX = savedEnv;
});

describe('a bundled worker entry', () => {
  it('is built into the cache and answers as a worker, without tsx', async () => {
    const p = project(41);
    const e = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(e.kind).toBe('bundle');
    const file = fileURLToPath(e.url);
    expect(dirname(file)).toBe(p.cache);
    expect(readFileSync(file, 'utf8')).not.toMatch(/tsx|: number/);
    const a = await answer(e.url, e.execArgv);
    expect(a.value).toBe(41);
    expect(a.argv.some((x) => x.includes('tsx'))).toBe(false);
  });

  it('is reused while its inputs are unchanged and rebuilt when one changes', async () => {
    const p = project(1);
    const first = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    const manifest = join(p.cache, 't.json');
    mark(manifest);
    const again = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(again.url.href).toBe(first.url.href);
    expect(rewritten(manifest)).toBe(false);

    // Same size, other content, other (still old) mtime: the change is seen.
    writeDep(p.dep, 2, PAST + 10);
    const changed = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(changed.kind).toBe('bundle');
    expect(changed.url.href).not.toBe(first.url.href);
    expect((await answer(changed.url)).value).toBe(2);
    expect(rewritten(manifest)).toBe(true);
  });

  it('is rebuilt by the next caller when an input was modified during its build', () => {
    const p = project(1, true); // written just now
    workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    const manifest = join(p.cache, 't.json');
    mark(manifest);
    workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(rewritten(manifest)).toBe(true);
    // Once the inputs are old enough, the next build's record is trusted.
    utimesSync(p.entry, PAST, PAST);
    utimesSync(p.dep, PAST, PAST);
    workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    mark(manifest);
    workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(rewritten(manifest)).toBe(false);
  });

  it('is rebuilt when the manifest or the bundle is corrupt', async () => {
    const p = project(7);
    const first = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    writeFileSync(join(p.cache, 't.json'), '{"format":1,"inputs":[[');
    const afterManifest = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(afterManifest.kind).toBe('bundle');
    expect((await answer(afterManifest.url)).value).toBe(7);

    const file = fileURLToPath(first.url);
    writeFileSync(file, readFileSync(file).subarray(0, 40)); // torn
    const afterBundle = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect(afterBundle.kind).toBe('bundle');
    expect((await answer(afterBundle.url)).value).toBe(7);
  });

  it('is never seen half-written: a write that fails leaves the last whole build', async () => {
    const p = project(5);
    const first = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    const manifest = readFileSync(join(p.cache, 't.json'), 'utf8');
    writeDep(p.dep, 6, PAST + 10);
    fault.failing = true;
    let failed: ReturnType<typeof workerEntry>;
    try {
      failed = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    } finally {
      fault.failing = false;
    }
    expect(failed.kind).toBe('tsx');
    expect(readFileSync(join(p.cache, 't.json'), 'utf8')).toBe(manifest);
    expect(readdirSync(p.cache).sort()).toEqual([basename(fileURLToPath(first.url)), 't.json']);
    const next = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    expect((await answer(next.url)).value).toBe(6);
  });

  it('is left by concurrent builders as whole files that load', async () => {
    const p = project(3, true); // fresh inputs: every process builds and writes
    // Each process builds, writes and at once starts a worker on what it got, while the others
    // write the same files.
    const code = [
      "import { Worker } from 'node:worker_threads';",
      `const { workerEntry } = await import(${JSON.stringify(MODULE)});`,
      `const e = workerEntry('t', new URL(${JSON.stringify(p.url.href)}), new URL('file:///x'),`,
      `  { cacheDirs: [${JSON.stringify(p.cache)}] });`,
      'const w = new Worker(e.url, { execArgv: e.execArgv });',
      "w.once('message', (m) => { console.log(e.kind, e.url.href, m.value); void w.terminate(); });",
    ].join('\n');
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', '--input-type=module', '-e', code],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.on('error', reject);
        child.on('exit', (c) => (c === 0 ? resolve(out.trim()) : reject(new Error(`exit ${c}`))));
      });
    const outs = await Promise.all([run(), run(), run(), run()]);
    for (const o of outs) {
      const [kind, href, value] = o.split(' ');
      expect(kind).toBe('bundle');
      expect(value).toBe('3');
      expect((await answer(new URL(href!))).value).toBe(3);
    }
    expect(readdirSync(p.cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const m = JSON.parse(readFileSync(join(p.cache, 't.json'), 'utf8')) as { bundle: string };
    expect((await answer(pathToFileURL(join(p.cache, m.bundle)))).value).toBe(3);
  }, 60_000);
});

describe('the tsx entry', () => {
  it('is given when no cache directory can be used, and the next usable one is taken', () => {
    const p = project(1);
    writeFileSync(join(p.dir, 'file'), '');
    const notADir = join(p.dir, 'file', 'cache');
    const shared = join(p.dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777); // writable by others: nothing there is run
    for (const dirs of [[notADir], [shared]]) {
      const e = workerEntry('t', p.url, TSX, { cacheDirs: dirs });
      expect(e).toEqual({ url: TSX, execArgv: undefined, kind: 'tsx' });
    }
    const e = workerEntry('t', p.url, TSX, { cacheDirs: [notADir, shared, p.cache] });
    expect(e.kind).toBe('bundle');
    expect(dirname(fileURLToPath(e.url))).toBe(p.cache);
  });

  it('is given when the build fails or the bundle would locate files from its own place', () => {
    const broken = project(1);
    writeFileSync(broken.dep, 'export const value: number = ;\n');
    expect(workerEntry('t', broken.url, TSX, { cacheDirs: [broken.cache] }).kind).toBe('tsx');

    const located = project(1);
    writeFileSync(located.dep, 'export const value = new URL(import.meta.url).href.length;\n');
    expect(workerEntry('t', located.url, TSX, { cacheDirs: [located.cache] }).kind).toBe('tsx');
  });

  it('is given for a bundle that imports a native package, outside the project cache', () => {
    const p = project(1);
    writeFileSync(
      p.dep,
      "import Database from 'better-sqlite3';\nexport const value = typeof Database === 'function' ? 1 : 0;\n",
    );
    utimesSync(p.dep, PAST, PAST);
    expect(workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] }).kind).toBe('tsx');
  });

  it('is given when VPAUSE_WORKER_TSX=1', () => {
    const p = project(1);
    process.env.VPAUSE_WORKER_TSX = '1';
    expect(workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] }).kind).toBe('tsx');
  });
});

describe("a worker's execArgv", () => {
  it("drops tsx's preloads and --input-type, and keeps everything else", () => {
    const argv = [
      '--require',
      '/p/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///p/node_modules/tsx/dist/loader.mjs',
      '--import=tsx',
      '--loader',
      'tsx/esm',
      '--import',
      './tsx-like.mjs',
      '--enable-source-maps',
      '-r',
      'dotenv/config',
      '--input-type=module',
      '--input-type',
      'commonjs',
      '--max-old-space-size=100',
    ];
    expect(workerExecArgv(argv)).toEqual([
      '--import',
      './tsx-like.mjs',
      '--enable-source-maps',
      '-r',
      'dotenv/config',
      '--max-old-space-size=100',
    ]);
  });
});

describe('the pools', () => {
  const lab = new TestLab('lab-a.example');
  const bodies = [lab.register('n1').body, lab.usage('n1').body, lab.usage('n1').body];
  const tampered = Uint8Array.from(bodies[2]!);
  const at = tampered.length - 20; // inside the signature
  tampered[at] = tampered[at]! ^ 1;
  const entries = [...bodies, tampered];
  const vkeys = [lab.root.vkey, lab.nodeKey('n1').vkey];

  async function ingested(): Promise<unknown> {
    const pool = new WorkerIngestor(vkeys, 2);
    try {
      const runs = await Promise.all([
        pool.process({ start: 0, entries: entries.slice(0, 2) }),
        pool.process({ start: 2, entries: entries.slice(2) }),
      ]);
      return JSON.parse(JSON.stringify(runs.flatMap((r) => r.records)));
    } finally {
      await pool.close();
    }
  }

  const inline = async () =>
    JSON.parse(
      JSON.stringify((await new InlineIngestor(vkeys).process({ start: 0, entries })).records),
    );

  it('start the verifier workers from a bundle, with the records of the inline path', async () => {
    const e = workerEntry(
      'verifier-verify',
      new URL('../../src/verifier/verify-thread.ts', import.meta.url),
      new URL('../../src/verifier/verify-worker.mjs', import.meta.url),
    );
    expect(e.kind).toBe('bundle');
    expect(await ingested()).toEqual(await inline());
  }, 60_000);

  it('start the verifier workers through tsx with VPAUSE_WORKER_TSX=1, with the same records', async () => {
    process.env.VPAUSE_WORKER_TSX = '1';
    expect(await ingested()).toEqual(await inline());
  }, 60_000);

  it('start the log preparation workers from a bundle', async () => {
    const e = workerEntry(
      'log-prepare',
      new URL('../../src/log/prepare-thread.ts', import.meta.url),
      new URL('../../src/log/prepare-worker.mjs', import.meta.url),
    );
    expect(e.kind).toBe('bundle');
    const pool = new WorkerPreparer(1, [lab.root.vkey]);
    try {
      await pool.ready();
      const [ok, bad] = await pool.prepare([bodies[0]!, new Uint8Array([123])]);
      expect(ok && 'outcomes' in ok ? ok.outcomes.get(lab.root.vkey) : 'missing').toBeNull();
      expect(bad && 'error' in bad ? bad.error.code : 'missing').toBeTypeOf('string');
    } finally {
      await pool.close();
    }
  }, 60_000);
});

describe('startWorker', () => {
  it("starts a worker whose execArgv Node refuses (a V8 flag of the process) with none, not the process's preloads", async () => {
    const p = project(5);
    const e = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    // Node refuses V8 options in a worker's own execArgv: new Worker would throw.
    const bad = { ...e, execArgv: ['--max-old-space-size=100', ...(e.execArgv ?? [])] };
    expect(() => new Worker(bad.url, { execArgv: bad.execArgv })).toThrow(
      expect.objectContaining({ code: 'ERR_WORKER_INVALID_EXEC_ARGV' }),
    );
    const m = await firstAnswer(startWorker(bad, {}));
    expect(m).toEqual({ value: 5, argv: [] });
  });

  it('passes an accepted execArgv on', async () => {
    const p = project(6);
    const e = workerEntry('t', p.url, TSX, { cacheDirs: [p.cache] });
    const m = await firstAnswer(startWorker({ ...e, execArgv: ['--enable-source-maps'] }, {}));
    expect(m).toEqual({ value: 6, argv: ['--enable-source-maps'] });
  });
});
