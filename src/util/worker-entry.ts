/**
 * Worker threads that start as plain JavaScript. The pools' workers (src/verifier/verify-thread.ts,
 * src/log/prepare-thread.ts) are TypeScript; started through tsx, each worker registers tsx's
 * loader hooks, which in Node 20 run on a hooks thread of the worker's own, and every module the
 * worker loads is resolved and transpiled through it: about half a second of CPU per worker on
 * the 2-core development machine. `workerEntry` instead bundles the worker's TypeScript entry with
 * esbuild (the bundler tsx itself runs on) into one ESM file, cached, and starts the worker on it
 * without tsx's preloads.
 *
 * Cache. Bundles live in node_modules/.cache/vpause/ of the project (or, where that cannot be
 * written, in a private per-user directory under os.tmpdir()), each named after a hash of its
 * content, beside a manifest (`<name>.json`) that names the current one and records what the
 * build read: every input file (esbuild's metafile) with its size and mtime, tsconfig.json,
 * esbuild's version, the entry and the build options. A bundle is used only while all of these
 * still match and its content still has its hash; otherwise it is rebuilt. An input changed
 * within two seconds of a build is recorded as unknown, so that an edit racing the build is
 * rebuilt by the next process rather than trusted. Files are written under a temporary name and
 * renamed, bundle first, so concurrent processes (vitest runs many) see whole files only; a
 * bundle no manifest names any more is removed a day after it was written. The answer is kept
 * for the life of the process.
 *
 * What a bundle may not do: locate files from `import.meta.url` (or `__dirname`), which would
 * point into the cache. A build whose output mentions them is refused. Native packages
 * (better-sqlite3) are left out of the bundle and imported from the project's node_modules, so a
 * bundle that imports one is kept only in the project's cache (neither worker reaches one today).
 *
 * Anything that goes wrong (esbuild missing, a failed build, no writable cache) gives the tsx
 * entry the pool always had: a slower start, the same behaviour. So does `VPAUSE_WORKER_TSX=1`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId, Worker, type WorkerOptions } from 'node:worker_threads';
import type * as Esbuild from 'esbuild';

/** What to start a pool's worker on. */
export interface WorkerEntry {
  /** the module to give `new Worker` */
  url: URL;
  /**
   * The worker's `execArgv`: for a bundle, the process's own without tsx's preloads (`tsx
   * script.ts` passes `--require`/`--import` of its loader, which workers inherit and would run:
   * `workerExecArgv`); for the tsx entry, undefined (inherited as it is).
   */
  execArgv: string[] | undefined;
  kind: 'bundle' | 'tsx';
}

export interface WorkerEntryOptions {
  /**
   * Cache directories, tried in order (default: node_modules/.cache/vpause of the project, then
   * a per-user directory under os.tmpdir()). Calls that name them (tests) are not remembered:
   * each checks the cache again.
   */
  cacheDirs?: readonly string[];
}

/** The project's root, from this file's place in it (src/util/). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The manifest's layout; a change makes every cached bundle stale. */
const FORMAT = 1;
/**
 * How every bundle is built. No source maps: workers report errors as codes and messages, and an
 * inline map makes the file up to seven times larger for Node to read at every start.
 */
const BUILD: Esbuild.BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3'],
  legalComments: 'none',
  logLevel: 'silent',
};
const OPTIONS = JSON.stringify(BUILD);
/** An input modified this close to (or after) the start of its build is not trusted. */
const RACY_MS = 2000;
/**
 * Age after which a bundle that no manifest names is removed (a long-lived process may still
 * start workers on the one it was given; it builds again if the file has gone).
 */
const PRUNE_MS = 24 * 3600_000;
/** The child process that builds: options on stdin, the bundle and metafile on stdout. */
const BUILDER = `
const r = require(process.argv[1]).buildSync(JSON.parse(require('node:fs').readFileSync(0, 'utf8')));
const code = Buffer.from(r.outputFiles[0].contents).toString('base64');
process.stdout.write(JSON.stringify({ code, metafile: r.metafile }));
`;
/** Uses of the module's own location, which would point into the cache once bundled. */
const LOCATES_ITSELF = /\bimport\.meta\b|\b__dirname\b|\b__filename\b/;

interface Manifest {
  format: number;
  esbuild: string;
  entry: string;
  options: string;
  /** the bundle's file name in the same directory */
  bundle: string;
  sha256: string;
  /** [absolute path, size, mtimeMs] of every input; mtimeMs -1: not trusted (never matches) */
  inputs: [string, number, number][];
}

interface Built {
  code: Uint8Array;
  sha256: string;
  inputs: [string, number, number][];
  /** whether the bundle imports packages (left out of it) from node_modules */
  importsPackages: boolean;
}

const remembered = new Map<string, WorkerEntry>();
const require = createRequire(import.meta.url);
let esbuildVersion: string | undefined;

/**
 * The entry to start worker `name` on: an up-to-date bundle of `tsEntry` (built when needed), or
 * `tsxEntry` (a .mjs file that registers tsx and imports `tsEntry`) when a bundle cannot be had
 * or `VPAUSE_WORKER_TSX=1`. Synchronous, so that pools can start workers from constructors;
 * checking a cached bundle costs a stat per input and a hash of the bundle, once per process.
 */
export function workerEntry(
  name: string,
  tsEntry: URL,
  tsxEntry: URL,
  options: WorkerEntryOptions = {},
): WorkerEntry {
  const tsx: WorkerEntry = { url: tsxEntry, execArgv: undefined, kind: 'tsx' };
  if (process.env.VPAUSE_WORKER_TSX === '1') return tsx;
  const key = `${name}\n${tsEntry.href}`;
  if (options.cacheDirs === undefined) {
    const known = remembered.get(key);
    if (known !== undefined && (known.kind === 'tsx' || existsSync(known.url))) return known;
  }
  const url = bundle(name, fileURLToPath(tsEntry), options.cacheDirs ?? defaultCacheDirs());
  const entry: WorkerEntry =
    url === undefined ? tsx : { url, execArgv: workerExecArgv(process.execArgv), kind: 'bundle' };
  if (options.cacheDirs === undefined) remembered.set(key, entry);
  return entry;
}

/** node_modules/.cache/vpause of the project, then a private per-user directory in tmpdir. */
function defaultCacheDirs(): string[] {
  const user = process.getuid?.() ?? userInfo().username;
  const project = createHash('sha256').update(ROOT).digest('hex').slice(0, 12);
  return [
    join(ROOT, 'node_modules', '.cache', 'vpause'),
    join(tmpdir(), `vpause-cache-${user}`, project),
  ];
}

/** The URL of a current bundle of `entry` in one of `dirs`, built if needed; undefined if none. */
function bundle(name: string, entry: string, dirs: readonly string[]): URL | undefined {
  let version: string;
  try {
    esbuildVersion ??= (require('esbuild/package.json') as { version: string }).version;
    version = esbuildVersion;
  } catch {
    return undefined; // esbuild is not installed
  }
  let built: Built | undefined;
  for (const dir of dirs) {
    if (!usableDir(dir)) continue;
    const cached = current(dir, name, entry, version);
    if (cached !== undefined) return cached;
    try {
      built ??= build(entry);
    } catch {
      return undefined; // the same build fails wherever it is written
    }
    if (built.importsPackages && !dir.startsWith(join(ROOT, 'node_modules'))) continue;
    try {
      return store(dir, name, entry, version, built);
    } catch {
      // not writable: the next directory
    }
  }
  return undefined;
}

/**
 * True when `dir` exists (created if needed) and neither it nor its parent can be written by
 * anyone else: a bundle found there is run as this user's code.
 */
function usableDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid?.();
    for (const d of [dir, dirname(dir)]) {
      const s = lstatSync(d);
      if (!s.isDirectory()) return false;
      if (uid !== undefined && (s.uid !== uid || (s.mode & 0o022) !== 0)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** The bundle the manifest in `dir` names, if it is current and whole. */
function current(dir: string, name: string, entry: string, version: string): URL | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Manifest;
    if (
      m.format !== FORMAT ||
      m.esbuild !== version ||
      m.entry !== entry ||
      m.options !== OPTIONS ||
      !bundleName(name).test(m.bundle) ||
      !Array.isArray(m.inputs)
    ) {
      return undefined;
    }
    for (const [path, size, mtimeMs] of m.inputs) {
      const s = statSync(path, { throwIfNoEntry: false });
      if (s === undefined || s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    }
    const file = join(dir, m.bundle);
    if (sha256(readFileSync(file)) !== m.sha256) return undefined;
    return pathToFileURL(file);
  } catch {
    return undefined; // no manifest, or one that does not parse
  }
}

/**
 * Bundles `entry`, recording the inputs the build read. esbuild runs in a child process: its
 * synchronous API would leave a thread and an esbuild process running in this one for good.
 */
function build(entry: string): Built {
  const started = Date.now();
  const options: Esbuild.BuildOptions = {
    ...BUILD,
    entryPoints: [entry],
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  };
  const stdout = execFileSync(process.execPath, ['-e', BUILDER, require.resolve('esbuild')], {
    input: JSON.stringify(options),
    env: { ...process.env, ESBUILD_WORKER_THREADS: '0' },
    stdio: ['pipe', 'pipe', 'ignore'],
    maxBuffer: 256 << 20,
    timeout: 120_000,
  });
  const r = JSON.parse(stdout.toString('utf8')) as { code: string; metafile: Esbuild.Metafile };
  const code = Buffer.from(r.code, 'base64');
  if (LOCATES_ITSELF.test(code.toString('utf8'))) {
    throw new Error(`${entry}: the bundle would locate files from its own place`);
  }
  const paths = Object.keys(r.metafile.inputs)
    .filter((p) => !/^[\w()-]+:/.test(p)) // files only, not esbuild's other namespaces
    .map((p) => resolve(ROOT, p));
  if (existsSync(join(ROOT, 'tsconfig.json'))) paths.push(join(ROOT, 'tsconfig.json'));
  const inputs = paths.map((p): [string, number, number] => {
    const s = statSync(p, { throwIfNoEntry: false });
    if (s === undefined) return [p, -1, -1];
    return [p, s.size, s.mtimeMs >= started - RACY_MS ? -1 : s.mtimeMs];
  });
  const importsPackages = Object.values(r.metafile.inputs).some((i) =>
    i.imports.some((m) => m.external === true && !isBuiltin(m.path)),
  );
  return { code, sha256: sha256(code), inputs, importsPackages };
}

/** Writes a built bundle and its manifest into `dir`; the URL of the bundle. */
function store(dir: string, name: string, entry: string, version: string, built: Built): URL {
  const file = `${name}-${built.sha256.slice(0, 16)}.mjs`;
  writeAtomically(join(dir, file), built.code);
  const manifest: Manifest = {
    format: FORMAT,
    esbuild: version,
    entry,
    options: OPTIONS,
    bundle: file,
    sha256: built.sha256,
    inputs: built.inputs,
  };
  writeAtomically(join(dir, `${name}.json`), JSON.stringify(manifest));
  prune(dir, name, file);
  return pathToFileURL(join(dir, file));
}

/** Writes `path` whole or not at all, as seen by other processes. */
function writeAtomically(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}-${threadId}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
}

/** Removes old bundles of `name` other than `keep`, and temporary files left by dead writers. */
function prune(dir: string, name: string, keep: string): void {
  const now = Date.now();
  const ours = bundleName(name);
  for (const f of readdirSync(dir)) {
    if (f === keep || !f.startsWith(name)) continue;
    const tmp = f.endsWith('.tmp');
    if (!tmp && !ours.test(f)) continue;
    try {
      const p = join(dir, f);
      if (now - statSync(p).mtimeMs > (tmp ? 3600_000 : PRUNE_MS)) unlinkSync(p);
    } catch {
      // removed meanwhile by another process
    }
  }
}

/** File names of the bundles of `name`. */
function bundleName(name: string): RegExp {
  return new RegExp(`^${name.replace(/[^\w]/g, '\\$&')}-[0-9a-f]{16}\\.mjs$`);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Starts a worker on `entry`. Node refuses an explicit execArgv that holds V8 or process-wide
 * options (`--max-old-space-size`, `--stack-size`, `--trace-gc`, `--expose-gc`…: they apply to
 * the whole process, workers included, anyway). A bundle then starts with none at all: it needs
 * no preload, and inheriting the process's execArgv instead, as this did before, made each worker
 * run tsx's preloads when the process had them (~0.2–0.5 s of CPU a worker, seen when profiling
 * with `--perf-basic-prof`). Only if Node refuses that too does the worker inherit.
 */
export function startWorker(entry: WorkerEntry, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  if (entry.execArgv !== undefined) {
    for (const execArgv of [entry.execArgv, []]) {
      try {
        return new Worker(entry.url, { ...options, execArgv });
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      }
    }
  }
  return new Worker(entry.url, options);
}

/**
 * The `execArgv` of a worker started from a bundle: `argv` without tsx's preloads (`--require
 * …/tsx/…`, `--import …/tsx/…`, loaders) and without `--input-type`, which is about `-e` text and
 * which Node refuses in a worker started from a file.
 */
export function workerExecArgv(argv: readonly string[]): string[] {
  const preload = /^(--require|-r|--import|--loader|--experimental-loader)(=(.*))?$/;
  const isTsx = (spec: string) => /^tsx(\/|$)|[\\/]node_modules[\\/]tsx[\\/]/.test(spec);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--input-type=')) continue;
    if (arg === '--input-type') {
      i++;
      continue;
    }
    const m = preload.exec(arg);
    const spec = m === null ? undefined : m[2] !== undefined ? m[3] : argv[i + 1];
    if (m !== null && spec !== undefined && isTsx(spec)) {
      if (m[2] === undefined) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
