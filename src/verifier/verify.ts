/**
 * One verification, end to end: sync the log (./sync.ts), evaluate the question (./evaluate.ts),
 * optionally audit nodes (./audit.ts) and evaluate again with the answers, optionally build the
 * evidence bundle (./bundle.ts). The CLI's `vpause verify` is a thin wrapper around this.
 */
import type { Logger } from 'pino';
import { parseTime } from '../../protocol/src/time.js';
import type { EvidenceBundle, Verdict } from '../../protocol/src/verdict.js';
import type { VPausePolicy } from '../policy/vpause-policy.js';
import { type AuditOptions, runAudits } from './audit.js';
import { buildBundle } from './bundle.js';
import { type Evaluation, evaluatePause, type Question } from './evaluate.js';
import { type FollowerConfig, LogFollower, type SyncReport } from './sync.js';

export interface VerifyConfig {
  policy: VPausePolicy;
  /** the log's tlog-tiles URL (default: the URL of the policy's first log line) */
  logUrl?: string;
  question: Question;
  /** the time the verdict speaks for, POSIX seconds (default: the clock) */
  asOf?: number;
  /** cache directory for the sync state (default: memory only) */
  cacheDir?: string;
  keepEntries?: boolean;
  fetch?: typeof fetch;
  /** clock, ms */
  now?: () => number;
  threads?: number;
  audit?: Omit<AuditOptions, 'fetch' | 'now'>;
  bundle?: boolean;
  logger?: Logger;
  /** an existing follower (the service's); then the log is synced through it */
  follower?: LogFollower;
}

export interface VerifyResult {
  verdict: Verdict;
  evaluation: Evaluation;
  sync: SyncReport | undefined;
  bundle?: EvidenceBundle;
}

/** The log URL a policy names (its first log line with a URL). */
export function policyLogUrl(policy: VPausePolicy): string | undefined {
  return policy.tlog.logs.find((l) => l.url !== undefined)?.url;
}

/**
 * Syncs, evaluates, audits and bundles.
 * @throws {VerifierError} PAUSE_NOT_FOUND, QUESTION_INVALID, POLICY_NO_LOG, SYNC_STATE_INVALID,
 *   BUNDLE_INVALID
 * @throws {VPauseError} LOG_UNREACHABLE, LOG_BAD_RESPONSE, note and checkpoint codes
 */
export async function verifyPause(cfg: VerifyConfig): Promise<VerifyResult> {
  const now = cfg.now ?? Date.now;
  const logUrl = cfg.logUrl ?? policyLogUrl(cfg.policy);
  let follower = cfg.follower;
  const own = follower === undefined;
  if (follower === undefined) {
    if (logUrl === undefined) {
      throw new TypeError('verifyPause: no log URL (give one, or a URL on the policy log line)');
    }
    const fc: FollowerConfig = { policy: cfg.policy, logUrl, now };
    if (cfg.cacheDir !== undefined) fc.cacheDir = cfg.cacheDir;
    if (cfg.keepEntries !== undefined) fc.keepEntries = cfg.keepEntries;
    if (cfg.fetch !== undefined) fc.fetch = cfg.fetch;
    if (cfg.threads !== undefined) fc.threads = cfg.threads;
    if (cfg.logger !== undefined) fc.logger = cfg.logger;
    follower = new LogFollower(fc);
  }
  try {
    let asOf: number | undefined;
    const inputs = () => {
      asOf ??= cfg.asOf ?? Math.floor(now() / 1000);
      return {
        policy: cfg.policy,
        index: follower.index,
        timeline: follower.timeline(),
        anchor: follower.anchor(),
        forks: follower.forks,
        question: cfg.question,
        asOf,
      };
    };
    // With a follower of its own, the question is evaluated while the workers check the last
    // signatures (outcomes still unchecked read as valid); the evaluation stands when none of
    // them came out invalid, and is made again otherwise. An error is left to the evaluation
    // after the sync, which throws it.
    let early: Evaluation | undefined;
    const speculate = () => {
      try {
        early = evaluatePause(inputs());
      } catch {
        early = undefined;
      }
    };
    const sync = await follower.sync(own ? { speculate } : {});
    const input = inputs();
    let evaluation = early !== undefined && sync.revised === 0 ? early : evaluatePause(input);
    let audits: Awaited<ReturnType<typeof runAudits>> = [];
    if (cfg.audit !== undefined && cfg.audit.count > 0) {
      audits = await runAudits(cfg.question.lab, evaluation.reports, {
        ...cfg.audit,
        ...(cfg.fetch ? { fetch: cfg.fetch } : {}),
        now,
      });
      evaluation = evaluatePause({ ...input, audits });
    }
    const result: VerifyResult = { verdict: evaluation.verdict, evaluation, sync };
    if (cfg.bundle === true) {
      result.bundle = await buildBundle(follower, evaluation, input.anchor, cfg.question, {
        forks: follower.forks,
        audits,
      });
    }
    return result;
  } finally {
    if (own) follower.close();
  }
}

/** `asOf` from an RFC 3339 time, for callers holding text. */
export function asOfFrom(time: string | undefined, now: () => number): number {
  return time === undefined ? Math.floor(now() / 1000) : parseTime(time);
}
