/** Structured logs (pino) for every vpause service: JSON lines on stderr, level from VPAUSE_LOG. */
import { type Logger, pino } from 'pino';

export function createLogger(name: string, level = process.env.VPAUSE_LOG ?? 'info'): Logger {
  return pino({ name, level, base: { service: name, pid: process.pid } }, pino.destination(2));
}

/** A logger that drops everything (tests, in-process simulations). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
