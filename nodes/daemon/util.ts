/**
 * Small pieces shared by the node daemon, the meter daemon and the lab tools: YAML configuration
 * files validated once by zod, key files, the injected clock and randomness, and backoff.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  parsePrivateKey,
  parseVerifierKey,
  type SignerKey,
  type VerifierKey,
} from '../../src/note/keys.js';
import { systemTimer, type Timer } from '../collectors/sample.js';
import { DaemonError } from './errors.js';

export type { Timer };
export { systemTimer };

/** Uniform randomness in [0, 1), injected for backoff jitter. */
export type Random = () => number;

/** One line naming the first few problems of a zod error. */
export function describeZodIssues(e: z.ZodError, max = 3): string {
  const parts = e.issues
    .slice(0, max)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  return parts.join('; ') + (e.issues.length > max ? `; … ${e.issues.length - max} more` : '');
}

/**
 * Parses YAML text and validates it with `schema`.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID naming `label` and the first problems
 */
export function parseYamlWith<S extends z.ZodType>(
  text: string,
  schema: S,
  label: string,
): z.output<S> {
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new DaemonError('DAEMON_CONFIG_INVALID', `${label}: not valid YAML: ${msg}`, {
      cause: e,
    });
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', `${label}: ${describeZodIssues(r.error)}`, {
      cause: r.error,
    });
  }
  return r.data;
}

/**
 * Reads a YAML file and validates it with `schema`.
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when the file is missing, not YAML or invalid
 */
export async function loadYamlFile<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DaemonError('DAEMON_CONFIG_INVALID', `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseYamlWith(text, schema, path);
}

/** Resolves `p` against the directory of the file `relativeTo` (absolute paths stay as they are). */
export function resolveFrom(relativeTo: string, p: string): string {
  return isAbsolute(p) ? p : resolve(dirname(relativeTo), p);
}

/**
 * Reads a private key file (Go x/mod note key format).
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when it cannot be read or parsed
 */
export async function readSignerKey(path: string): Promise<SignerKey> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `cannot read key ${path}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  try {
    return parsePrivateKey(text);
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `${path} is not a private key: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * A verifier key given as the vkey itself or as the path of a file holding it (one line).
 * @throws {DaemonError} DAEMON_CONFIG_INVALID when it is neither
 */
export async function readVerifierKey(fileOrVkey: string, base?: string): Promise<VerifierKey> {
  const s = fileOrVkey.trim();
  if (/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(s)) {
    try {
      return parseVerifierKey(s);
    } catch {
      // fall through: maybe a file whose name looks like a vkey
    }
  }
  const path = base !== undefined ? resolveFrom(base, s) : s;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `${fileOrVkey} is neither a vkey nor a readable file: ${(e as Error).message}`,
      { cause: e },
    );
  }
  try {
    return parseVerifierKey(text.trim());
  } catch (e) {
    throw new DaemonError(
      'DAEMON_CONFIG_INVALID',
      `${path} holds no valid vkey: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * A clock that runs `speed` times faster than `base` from `anchorMs` on (both the time it reads
 * and the sleeps), for demos, tests and the simulator: with speed 60 a 300 s interval passes in
 * 5 s. Two scaled timers with the same anchor and speed agree, also across process restarts.
 * @throws {RangeError} when speed is not a positive finite number
 */
export function scaledTimer(speed: number, anchorMs: number, base: Timer = systemTimer): Timer {
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError('scaledTimer: bad speed');
  return {
    now: () => Math.floor(anchorMs + (base.now() - anchorMs) * speed),
    sleep: (ms, signal) => base.sleep(ms / speed, signal),
  };
}

/** Backoff parameters: the first retry after about `minMs`, doubling up to `maxMs`. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half uniformly random), so that many nodes retrying after a log outage spread out.
 */
export function backoffDelay(attempt: number, b: Backoff, random: Random): number {
  const exp = Math.min(b.maxMs, b.minMs * 2 ** Math.min(attempt, 30));
  return exp / 2 + (exp / 2) * random();
}

/**
 * Parses an HTTP Retry-After value (delay seconds or an HTTP date) into milliseconds from `now`.
 * Returns undefined for anything else.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d{1,9}$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - nowMs);
}

/** Sleeps on `timer`, resolving early when `signal` aborts (never rejects). */
export function sleep(timer: Timer, ms: number, signal: AbortSignal): Promise<void> {
  return timer.sleep(Math.max(0, ms), signal);
}
