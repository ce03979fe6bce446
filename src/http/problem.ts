/**
 * RFC 9457 problem details, in one place for every vpause service. Each VPauseError code maps to
 * an HTTP status and a stable problem `type` (`urn:vpause:problem:<kebab-code>`); clients match
 * on `type` (or the `code` extension member), never on `title` or `detail`.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isVPauseError } from '../core/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  [ext: string]: unknown;
}

/** Status for codes whose status is not 400. Everything else a client sends wrong is a 400. */
const STATUS: Record<string, ContentfulStatusCode> = {
  ENTRY_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  ADMIT_UNKNOWN_KEY: 403,
  ADMIT_WRONG_LAB: 403,
  ADMIT_WRONG_NODE: 403,
  ADMIT_REVOKED: 403,
  ADMIT_NOT_ADMITTED: 403,
  SEQ_CONFLICT: 409,
  REGISTRATION_CONFLICT: 409,
  LOG_STATE_CORRUPT: 500,
  STORAGE_CLOSED: 503,
  STORAGE_LOCKED: 500,
  STORAGE_SCHEMA: 500,
  STORAGE_CORRUPT: 500,
  NOT_FOUND: 404,
  VERIFIER_KEY_MISSING: 404,
  LOG_PUSHBACK: 503,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemType(code: string): string {
  return `urn:vpause:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export function statusForCode(code: string): ContentfulStatusCode {
  return STATUS[code] ?? 400;
}

/** Builds the problem object for a code. */
export function problem(code: string, detail?: string, extra?: Record<string, unknown>): Problem {
  const status = statusForCode(code);
  return {
    type: problemType(code),
    title: TITLES[status] ?? 'Error',
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...extra,
  };
}

/** The problem for any thrown value; unknown errors become INTERNAL without leaking detail. */
export function problemFromError(e: unknown): Problem {
  if (isVPauseError(e)) return problem(e.code, e.message);
  return problem('INTERNAL', 'internal error');
}

/** Sends a problem response (with Retry-After for 503s). */
export function sendProblem(c: Context, p: Problem, retryAfterSeconds = 1): Response {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (p.status === 503) headers['retry-after'] = String(retryAfterSeconds);
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, headers);
}
