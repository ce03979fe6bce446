/** Prometheus metrics of a signing daemon (node or meter), one registry per daemon instance. */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface DaemonMetrics {
  registry: Registry;
  /** Statements signed and stored in the outbox. */
  statements: Counter;
  /** Submission attempts by outcome: sequenced, retry, rejected, conflict. */
  submits: Counter<'result'>;
  /** Receipts by outcome: verified, invalid. */
  receipts: Counter<'result'>;
  outboxUnsequenced: Gauge;
  outboxUnreceipted: Gauge;
  lastSeq: Gauge;
  /** Telemetry samples or meter readings received, and those dropped as too late. */
  inputs: Counter<'result'>;
  /** Collector or source errors. */
  sourceErrors: Counter;
  /** Audit challenges by outcome: ok, or the refusal reason. */
  audits: Counter<'result'>;
}

/**
 * Creates the metrics under `prefix` (`vpause_node` or `vpause_meter`).
 * @throws {Error} from prom-client when a name is registered twice in `registry`
 */
export function createDaemonMetrics(
  prefix: 'vpause_node' | 'vpause_meter',
  registry = new Registry(),
  defaults = true,
): DaemonMetrics {
  if (defaults) collectDefaultMetrics({ register: registry, prefix: `${prefix}_process_` });
  const r = [registry];
  return {
    registry,
    statements: new Counter({
      name: `${prefix}_statements_total`,
      help: 'Statements signed and stored in the outbox',
      registers: r,
    }),
    submits: new Counter({
      name: `${prefix}_submits_total`,
      help: 'Submissions to the log by outcome (sequenced, retry, rejected, conflict)',
      labelNames: ['result'],
      registers: r,
    }),
    receipts: new Counter({
      name: `${prefix}_receipts_total`,
      help: 'Receipts fetched by outcome (verified, invalid)',
      labelNames: ['result'],
      registers: r,
    }),
    outboxUnsequenced: new Gauge({
      name: `${prefix}_outbox_unsequenced`,
      help: 'Statements in the outbox the log has not acknowledged yet',
      registers: r,
    }),
    outboxUnreceipted: new Gauge({
      name: `${prefix}_outbox_unreceipted`,
      help: 'Statements in the outbox without a verified receipt',
      registers: r,
    }),
    lastSeq: new Gauge({
      name: `${prefix}_last_seq`,
      help: 'seq of the last statement stored (-1 before the first)',
      registers: r,
    }),
    inputs: new Counter({
      name: `${prefix}_inputs_total`,
      help: 'Telemetry samples or meter readings received, by result (used, late)',
      labelNames: ['result'],
      registers: r,
    }),
    sourceErrors: new Counter({
      name: `${prefix}_source_errors_total`,
      help: 'Errors of the telemetry collector or meter source',
      registers: r,
    }),
    audits: new Counter({
      name: `${prefix}_audit_challenges_total`,
      help: 'Audit challenges by outcome (ok, or the refusal reason)',
      labelNames: ['result'],
      registers: r,
    }),
  };
}
