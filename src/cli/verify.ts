/**
 * `vpause verify`: is lab L's pause P respected? Syncs the log through its tiles (verified,
 * cached between runs), runs the seven checks and prints a summary or the verdict JSON, and can
 * write the evidence bundle. `vpause verify-bundle` re-checks such a bundle offline.
 *
 * Exit status: 0 compliant, 1 violation, 2 inconclusive, 3 could not run (one-line reason).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isTime, parseTime } from '../../protocol/src/time.js';
import type { Verdict } from '../../protocol/src/verdict.js';
import {
  parsePrivateKey,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
} from '../note/keys.js';
import { parseVPausePolicy, type VPausePolicy } from '../policy/vpause-policy.js';
import { checkBundle } from '../verifier/bundle.js';
import { VerifierError } from '../verifier/errors.js';
import type { Question } from '../verifier/evaluate.js';
import { EXIT_COULD_NOT_RUN, EXIT_STATUS, formatVerdict } from '../verifier/report.js';
import { openSignedVerdict, signVerdict } from '../verifier/signed-verdict.js';
import { policyLogUrl, verifyPause } from '../verifier/verify.js';
import { CliExit } from './exit.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The default cache directory: $XDG_CACHE_HOME/vpause or ~/.cache/vpause. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'vpause');
}

/** One line saying why a command could not run. */
function reason(e: unknown): string {
  if (e instanceof CliExit) return e.message;
  const code = (e as { code?: string }).code;
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  return code !== undefined && !msg.includes(code) ? `${msg} (${code})` : msg;
}

/** Reads and parses a policy file. @throws {CliExit} 3 when it cannot */
export async function loadPolicy(path: string | undefined): Promise<VPausePolicy> {
  if (path === undefined) throw new CliExit(EXIT_COULD_NOT_RUN, '--policy <file> is required');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `cannot read the policy ${path}: ${(e as Error).message}`,
    );
  }
  try {
    return parseVPausePolicy(text, { file: path });
  } catch (e) {
    throw new CliExit(EXIT_COULD_NOT_RUN, (e as Error).message);
  }
}

function need(v: string | undefined, flag: string): string {
  if (v === undefined || v === '') throw new CliExit(EXIT_COULD_NOT_RUN, `${flag} is required`);
  return v;
}

function time(v: string | undefined, flag: string): string | undefined {
  if (v !== undefined && !isTime(v)) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `${flag} must be an RFC 3339 UTC time like 2026-11-27T00:00:00Z`,
    );
  }
  return v;
}

/** Prints a verdict and throws the exit status it calls for (nothing for compliant). */
function finish(v: Verdict, json: boolean): void {
  process.stdout.write(json ? `${JSON.stringify(v, null, 2)}\n` : formatVerdict(v));
  const status = EXIT_STATUS[v.verdict];
  if (status !== 0) throw new CliExit(status, '');
}

/** Commander usage errors in these commands exit 3, like every other reason not to run. */
/**
 * Runs a command's action; anything it throws but a CliExit exits 3 (could not run) with
 * `<prefix>: <reason>`, the prefix chosen from the error.
 */
async function orCouldNotRun(run: () => Promise<void>, prefix: (e: unknown) => string) {
  try {
    await run();
  } catch (e) {
    if (e instanceof CliExit) throw e;
    throw new CliExit(EXIT_COULD_NOT_RUN, `${prefix(e)}: ${reason(e)}`);
  }
}

function couldNotRun(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    if (err.exitCode === 0) throw err;
    throw new CliExit(EXIT_COULD_NOT_RUN, '');
  });
}

/** Reads the policy's verifier key (its path is relative to the policy file). */
export async function readSigner(path: string, policyPath: string): Promise<SignerKey> {
  const p = resolve(dirname(policyPath), path);
  try {
    return parsePrivateKey(await readFile(p, 'utf8'));
  } catch (e) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `cannot read the verifier key ${p}: ${(e as Error).message}`,
    );
  }
}

interface VerifyOpts {
  policy?: string;
  log?: string;
  lab?: string;
  pause?: string;
  from?: string;
  to?: string;
  asOf?: string;
  json: boolean;
  bundle?: string;
  signed?: string;
  audit?: string;
  nodeUrl: string[];
  cache?: string;
  threads?: string;
}

async function runVerify(o: VerifyOpts): Promise<void> {
  const policy = await loadPolicy(o.policy);
  const logUrl = o.log ?? policyLogUrl(policy);
  if (logUrl === undefined)
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      '--log <url> is required (the policy log line has no URL)',
    );
  const question: Question = { lab: need(o.lab, '--lab'), pause: need(o.pause, '--pause') };
  const from = time(o.from, '--from');
  const to = time(o.to, '--to');
  if (from !== undefined) question.from = from;
  if (to !== undefined) question.to = to;
  const asOf = time(o.asOf, '--as-of');
  let audit: Parameters<typeof verifyPause>[0]['audit'];
  if (o.audit !== undefined) {
    const count = Number(o.audit);
    if (!Number.isSafeInteger(count) || count < 0)
      throw new CliExit(EXIT_COULD_NOT_RUN, '--audit must be a count');
    if (policy.verifierKeyPath === undefined) {
      throw new CliExit(EXIT_COULD_NOT_RUN, '--audit needs a verifier-key line in the policy');
    }
    const urls = new Map<string, string>();
    for (const s of o.nodeUrl) {
      const i = s.indexOf('=');
      if (i <= 0)
        throw new CliExit(
          EXIT_COULD_NOT_RUN,
          `--node-url must be facility/cluster/node=URL, not ${s}`,
        );
      urls.set(s.slice(0, i), s.slice(i + 1));
    }
    audit = {
      count,
      signer: await readSigner(policy.verifierKeyPath, o.policy!),
      nodeUrl: (n) => urls.get(n),
    };
  }
  let signer: SignerKey | undefined;
  if (o.signed !== undefined) {
    if (policy.verifierKeyPath === undefined) {
      throw new CliExit(EXIT_COULD_NOT_RUN, '--signed needs a verifier-key line in the policy');
    }
    signer = await readSigner(policy.verifierKeyPath, o.policy!);
  }
  let threads: number | undefined;
  if (o.threads !== undefined) {
    threads = Number(o.threads);
    if (!Number.isSafeInteger(threads) || threads < 0)
      throw new CliExit(EXIT_COULD_NOT_RUN, '--threads must be a count');
  }
  const result = await verifyPause({
    policy,
    logUrl,
    question,
    cacheDir: o.cache ?? defaultCacheDir(),
    ...(asOf !== undefined ? { asOf: parseTime(asOf) } : {}),
    ...(audit !== undefined ? { audit } : {}),
    ...(threads !== undefined ? { threads } : {}),
    bundle: o.bundle !== undefined,
  });
  if (o.bundle !== undefined && result.bundle !== undefined) {
    try {
      await writeFile(o.bundle, `${JSON.stringify(result.bundle)}\n`);
    } catch (e) {
      throw new CliExit(
        EXIT_COULD_NOT_RUN,
        `cannot write the bundle ${o.bundle}: ${(e as Error).message}`,
      );
    }
  }
  if (o.signed !== undefined && signer !== undefined) {
    await writeOut(
      o.signed,
      `${JSON.stringify(signVerdict(result.verdict, signer))}\n`,
      'signed verdict',
    );
  }
  finish(result.verdict, o.json);
}

async function writeOut(path: string, text: string, what: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (e) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `cannot write the ${what} ${path}: ${(e as Error).message}`,
    );
  }
}

/** A verifier key given as a vkey or as a file holding one. */
async function readVerifierKey(v: string | undefined): Promise<VerifierKey> {
  if (v === undefined || v === '') throw new CliExit(EXIT_COULD_NOT_RUN, '--key is required');
  let text = v;
  if (!v.includes('+')) {
    try {
      text = (await readFile(v, 'utf8')).trim();
    } catch (e) {
      throw new CliExit(EXIT_COULD_NOT_RUN, `cannot read the key ${v}: ${(e as Error).message}`);
    }
  }
  try {
    return parseVerifierKey(text);
  } catch (e) {
    throw new CliExit(EXIT_COULD_NOT_RUN, `not a verifier key: ${(e as Error).message}`);
  }
}

async function runVerifyVerdict(file: string, o: { key?: string; json: boolean }): Promise<void> {
  const keys = [await readVerifierKey(o.key)];
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `cannot read the signed verdict ${file}: ${(e as Error).message}`,
    );
  }
  const { verdict, signedBy } = openSignedVerdict(doc, keys);
  if (!o.json) process.stdout.write(`signed by ${signedBy.join(', ')}\n`);
  finish(verdict, o.json);
}

async function runVerifyBundle(file: string, o: { policy?: string; json: boolean }): Promise<void> {
  const policy = await loadPolicy(o.policy);
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new CliExit(
      EXIT_COULD_NOT_RUN,
      `cannot read the bundle ${file}: ${(e as Error).message}`,
    );
  }
  const r = checkBundle(doc, policy);
  if (!r.same) {
    process.stderr.write(
      `vpause: the bundle claims "${r.claimed.verdict}" (${r.claimed.findings.length} findings); its evidence gives "${r.verdict.verdict}" (${r.verdict.findings.length} findings)\n`,
    );
  }
  finish(r.verdict, o.json);
}

/** Registers `verify` and `verify-bundle`. */
export function registerVerify(program: Command): void {
  couldNotRun(
    program
      .command('verify')
      .description(
        "verify a lab's pause against the log (exit 0 compliant, 1 violation, 2 inconclusive, 3 could not run)",
      )
      .option(
        '--policy <file>',
        'trust policy: log, witnesses, quorum, lab and meter keys, facilities',
      )
      .option('--log <url>', "the log's tlog-tiles URL (default: the policy's log URL)")
      .option('--lab <lab>', 'the lab, e.g. lab-a.example')
      .option('--pause <id>', 'the pause id')
      .option('--from <time>', 'start of the window (default: the pause start)')
      .option('--to <time>', 'end of the window (default: the pause end, or now)')
      .option('--as-of <time>', 'evaluate as of this time instead of now')
      .option('--json', 'print the verdict JSON', false)
      .option('--bundle <file>', 'write the evidence bundle to this file')
      .option(
        '--signed <file>',
        'also write the verdict signed with the verifier key (policy verifier-key line)',
      )
      .option(
        '--audit <n>',
        'audit N random reports of the window (needs verifier-key and --node-url)',
      )
      .option(
        '--node-url <node=url>',
        'audit API of a node: facility/cluster/node=URL (repeat)',
        collect,
        [],
      )
      .option('--cache <dir>', 'cache directory for the synced log (default ~/.cache/vpause)')
      .option('--threads <n>', 'worker threads for signature checks (default: one per core)'),
  ).action((o: VerifyOpts) =>
    orCouldNotRun(
      () => runVerify(o),
      () => 'could not verify',
    ),
  );

  couldNotRun(
    program
      .command('verify-bundle')
      .description('re-check an evidence bundle offline (exit status as verify)')
      .argument('<file>', 'the bundle (vpause verify --bundle)')
      .option('--policy <file>', 'trust policy')
      .option('--json', 'print the verdict JSON', false),
  ).action((file: string, o: { policy?: string; json: boolean }) =>
    orCouldNotRun(
      () => runVerifyBundle(file, o),
      (e) =>
        e instanceof VerifierError && e.code === 'BUNDLE_INVALID'
          ? 'invalid bundle'
          : 'could not check',
    ),
  );

  couldNotRun(
    program
      .command('verify-verdict')
      .description(
        'check a verdict signed by a verifier (verify --signed) and print it (exit status as verify)',
      )
      .argument('<file>', 'the signed verdict (DSSE envelope)')
      .option('--key <vkey>', "the verifier's key: a vkey, or a file holding one")
      .option('--json', 'print the verdict JSON', false),
  ).action((file: string, o: { key?: string; json: boolean }) =>
    orCouldNotRun(
      () => runVerifyVerdict(file, o),
      () => 'invalid signed verdict',
    ),
  );
}
