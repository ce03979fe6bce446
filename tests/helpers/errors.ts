import { VPauseError } from '../../src/core/errors.js';

/**
 * The code of the VPauseError `f` throws, or undefined when it returns. Anything else thrown is
 * rethrown, so that a TypeError from a bug does not pass for a refusal.
 */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof VPauseError) return e.code;
    throw e;
  }
}
