/**
 * One error model for vpause: a typed error with a closed set of machine-readable codes.
 * Tests assert `code`, never `message`. The HTTP layer maps codes to RFC 9457 problem
 * responses in one place (see src/http/problem.ts).
 */
export class VPauseError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VPauseError';
    this.code = code;
  }
}

/** True when `e` is a VPauseError, optionally with the given code. */
export function isVPauseError(e: unknown, code?: string): e is VPauseError {
  return e instanceof VPauseError && (code === undefined || e.code === code);
}
