/**
 * The simulator's errors: one closed set of codes (tests assert the code), messages of one line.
 * - SCENARIO_SYNTAX: the file is not YAML (or JSON)
 * - SCENARIO_INVALID: the scenario breaks its schema, or a strategy's parameters break theirs
 * - SCENARIO_UNKNOWN_STRATEGY: a strategy name no plug-in has
 * - SWEEP_INVALID: a --param sweep that does not parse or names no value of the scenario
 * - OUT_MISMATCH: the output directory holds runs of another scenario, seed or sweep
 * - RUN_FAILED: a run threw (the message names the run)
 */
import { VPauseError } from '../core/errors.js';

export type SimErrorCode =
  | 'SCENARIO_SYNTAX'
  | 'SCENARIO_INVALID'
  | 'SCENARIO_UNKNOWN_STRATEGY'
  | 'SWEEP_INVALID'
  | 'OUT_MISMATCH'
  | 'RUN_FAILED';

export class SimError extends VPauseError<SimErrorCode> {
  constructor(code: SimErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message.split('\n')[0]!, options);
    this.name = 'SimError';
  }
}
