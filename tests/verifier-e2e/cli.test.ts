/**
 * `vpause verify` and `vpause verify-bundle` end to end, as real processes: exit status per
 * verdict (0 compliant, 1 violation, 2 inconclusive, 3 could not run with a one-line reason),
 * the detection bound in the human summary, and a bundle that re-checks offline to the same
 * verdict JSON. The verifier's cache is the one the test world's follower kept while the log grew
 * (what a periodically run verifier has), so timeliness can be decided.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../../protocol/src/time.js';
import { runCli } from '../../src/cli/main.js';
import { runVpause } from '../helpers/proc.js';
import { testKey } from '../helpers/world.js';
import { INTERVAL, LAB, MAX_DELAY, PAUSE, T0, World } from './world.js';

const N = 12;
const TO = formatTime(T0 + N * INTERVAL);
const AS_OF = formatTime(T0 + N * INTERVAL + MAX_DELAY + 60);

async function worldWith(
  build: (w: World) => Promise<void>,
): Promise<{ w: World; dir: string; policy: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vpause-verify-'));
  const w = await World.start({ cacheDir: join(dir, 'cache') });
  await build(w);
  w.follower.close(); // the CLI opens the same cache
  const policy = join(dir, 'policy.txt');
  writeFileSync(policy, w.policyText);
  return { w, dir, policy };
}

const args = (policy: string, cache: string, ...extra: string[]) => [
  'verify',
  '--policy',
  policy,
  '--lab',
  LAB,
  '--pause',
  PAUSE,
  '--to',
  TO,
  '--as-of',
  AS_OF,
  '--cache',
  cache,
  ...extra,
];

describe('vpause verify on a lab hiding a cluster', () => {
  let ctx: Awaited<ReturnType<typeof worldWith>>;
  beforeAll(async () => {
    ctx = await worldWith(async (w) => {
      for (let k = 0; k < N; k++) await w.interval(k, { hiddenGpuJ: 32 * 632 * INTERVAL });
    });
  }, 60_000);
  afterAll(() => ctx.w.close());

  it('exits 1 and prints the finding and the detection bound', async () => {
    const bundle = join(ctx.dir, 'bundle.json');
    const r = await runVpause(args(ctx.policy, join(ctx.dir, 'cache'), '--bundle', bundle));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^VIOLATION: lab lab-a\.example, pause pause-1/);
    expect(r.stdout).toMatch(/\[violation\] energy-unexplained: facility f1/);
    expect(r.stdout).toMatch(
      /detection: the physics check would catch hidden compute of ≥ [0-9.e+]+ FLOP \([0-9.e+]+ H100-GPU-hours\) with probability ≥ 0\.95 at false-alarm rate 0\.001/,
    );
  }, 60_000);

  it('writes a bundle that verify-bundle re-checks offline to the same verdict and exit status', async () => {
    const bundle = JSON.parse(readFileSync(join(ctx.dir, 'bundle.json'), 'utf8'));
    const r = await runVpause([
      'verify-bundle',
      join(ctx.dir, 'bundle.json'),
      '--policy',
      ctx.policy,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual(bundle.verdict);
    expect(r.stderr).toBe('');
  }, 60_000);
});

describe('vpause verify on an honest lab', () => {
  let ctx: Awaited<ReturnType<typeof worldWith>>;
  beforeAll(async () => {
    ctx = await worldWith((w) => w.honest(0, N));
  }, 60_000);
  afterAll(() => ctx.w.close());

  it('exits 0 with a compliant verdict JSON, from the cache the verifier kept as the log grew', async () => {
    const r = await runVpause(args(ctx.policy, join(ctx.dir, 'cache'), '--json'));
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v).toMatchObject({ verdict: 'compliant', lab: LAB, pause: PAUSE, findings: [] });
    expect(v.checkpoint.quorum).toBe(true);
  }, 60_000);

  it('writes a verdict signed with the policy verifier key, which verify-verdict checks', async () => {
    const key = testKey('verifier.example/v1');
    writeFileSync(join(ctx.dir, 'verifier.key'), `${key.privateKey}\n`);
    writeFileSync(join(ctx.dir, 'verifier.vkey'), `${key.vkey}\n`);
    const signedPolicy = join(ctx.dir, 'policy-signed.txt');
    writeFileSync(signedPolicy, `${ctx.w.policyText}\nverifier-key verifier.key\n`);
    const out = join(ctx.dir, 'verdict.dsse.json');
    const r = await runVpause(
      args(signedPolicy, join(ctx.dir, 'cache'), '--json', '--signed', out),
    );
    expect(r.code).toBe(0);
    const check = await runVpause([
      'verify-verdict',
      out,
      '--key',
      join(ctx.dir, 'verifier.vkey'),
      '--json',
    ]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual(JSON.parse(r.stdout));
    const human = await runVpause(['verify-verdict', out, '--key', key.vkey]);
    expect(human.stdout).toMatch(/^signed by verifier\.example\/v1\+[0-9a-f]{8}\+/);
    expect(human.stdout).toMatch(/COMPLIANT/);
    const wrong = await runVpause([
      'verify-verdict',
      out,
      '--key',
      testKey('other.example/v').vkey,
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(
      /^vpause: invalid signed verdict: .*VERDICT_SIGNATURE_INVALID.*\n$/,
    );
    expect(wrong.stdout).toBe('');
  }, 60_000);

  it('refuses --signed (exit 3, one line) when the policy has no verifier key', async () => {
    const r = await runVpause(
      args(ctx.policy, join(ctx.dir, 'cache'), '--signed', join(ctx.dir, 'never.json')),
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('vpause: --signed needs a verifier-key line in the policy\n');
  }, 60_000);

  it('exits 2 (inconclusive) for a first run that never saw the log grow: timeliness unknown', async () => {
    const r = await runVpause(args(ctx.policy, join(ctx.dir, 'fresh-cache'), '--json'));
    expect(r.code).toBe(2);
    const v = JSON.parse(r.stdout);
    expect([...new Set(v.findings.map((f: { code: string }) => f.code))]).toEqual([
      'timeliness-unknown',
    ]);
  }, 60_000);
});

describe('vpause verify when it cannot run', () => {
  let dir: string;
  let stderr: string;
  const write = process.stderr.write.bind(process.stderr);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vpause-verify-'));
  });
  async function run(argv: string[]): Promise<number> {
    stderr = '';
    process.stderr.write = ((s: string) => {
      stderr += s;
      return true;
    }) as typeof process.stderr.write;
    try {
      return await runCli(argv);
    } finally {
      process.stderr.write = write;
    }
  }

  it('exits 3 with one line for an unreadable policy', async () => {
    expect(
      await run(['verify', '--policy', join(dir, 'nope.txt'), '--lab', LAB, '--pause', PAUSE]),
    ).toBe(3);
    expect(stderr).toMatch(/^vpause: cannot read the policy .*nope\.txt.*\n$/);
  });

  it('exits 3 with one line for a malformed policy, naming the line', async () => {
    writeFileSync(join(dir, 'bad.txt'), 'log not-a-key\nquorum none\n');
    expect(
      await run(['verify', '--policy', join(dir, 'bad.txt'), '--lab', LAB, '--pause', PAUSE]),
    ).toBe(3);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(stderr).toMatch(/line 1/);
  });

  it('exits 3 with one line for an unreachable log', async () => {
    const w = new World();
    writeFileSync(
      join(dir, 'p.txt'),
      `log ${(await import('../helpers/world.js')).testKey('log.example/log').vkey}\nquorum none\nlab ${w.root.vkey}\n`,
    );
    const code = await run([
      'verify',
      '--policy',
      join(dir, 'p.txt'),
      '--log',
      'http://127.0.0.1:1',
      '--lab',
      LAB,
      '--pause',
      PAUSE,
      '--cache',
      join(dir, 'c'),
    ]);
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /^vpause: could not verify: cannot reach http:\/\/127\.0\.0\.1:1.*\(LOG_UNREACHABLE\)\n$/,
    );
  });

  it('exits 3 for a pause the log does not have', async () => {
    const ctx = await worldWith((w) => w.honest(0, 1));
    try {
      const code = await run([
        'verify',
        '--policy',
        ctx.policy,
        '--lab',
        LAB,
        '--pause',
        'no-such-pause',
        '--cache',
        join(ctx.dir, 'cache'),
      ]);
      expect(code).toBe(3);
      expect(stderr).toMatch(/PAUSE_NOT_FOUND/);
    } finally {
      await ctx.w.close();
    }
  }, 60_000);

  it('exits 3 for a bundle whose proofs do not hold', async () => {
    writeFileSync(
      join(dir, 'p2.txt'),
      `log ${(await import('../helpers/world.js')).testKey('log.example/log').vkey}\nquorum none\n`,
    );
    writeFileSync(join(dir, 'b.json'), '{"v":1}');
    expect(await run(['verify-bundle', join(dir, 'b.json'), '--policy', join(dir, 'p2.txt')])).toBe(
      3,
    );
    expect(stderr).toMatch(/^vpause: invalid bundle: /);
  });
});
