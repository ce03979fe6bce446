/**
 * The vpause command line. Each command lives in its own module and registers itself on the
 * program; this file only wires the parser, the one-line error rule and exit codes.
 */
import { Command, CommanderError } from 'commander';
import { isVPauseError } from '../core/errors.js';
import { registerDemo } from './demo.js';
import { CliExit } from './exit.js';
import { registerKeygen } from './keygen.js';
import { registerLab } from './lab.js';
import { registerLog } from './log.js';
import { registerMeter } from './meter.js';
import { registerMonitor } from './monitor.js';
import { registerNode } from './node.js';
import { registerSim } from './sim.js';
import { registerVerifier } from './verifier.js';
import { registerVerify } from './verify.js';
import { registerWitness } from './witness.js';

export function buildProgram(): Command {
  const program = new Command('vpause')
    .description('Verifiable AI-compute pause: signed usage reports, a witnessed log, a verifier')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  registerKeygen(program);
  registerLog(program);
  registerWitness(program);
  registerMonitor(program);
  registerVerify(program);
  registerVerifier(program);
  registerLab(program);
  registerNode(program);
  registerMeter(program);
  registerSim(program);
  registerDemo(program);
  return program;
}

/** Runs the CLI and returns the exit status (no process.exit in library code). */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; parse errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliExit) {
      if (e.message) process.stderr.write(`vpause: ${e.message}\n`);
      return e.exitCode;
    }
    if (isVPauseError(e)) {
      process.stderr.write(`vpause: ${e.message} (${e.code})\n`);
      return 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`vpause: ${msg.split('\n')[0]}\n`);
    return 1;
  }
}
