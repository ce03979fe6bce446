/**
 * The attestation node daemon and what the facility meter and the lab tools share with it: the
 * durable outbox, the log client and submitter, the audit API.
 */
export * from './app.js';
export * from './audit/index.js';
export * from './chain.js';
export * from './collector.js';
export * from './config.js';
export * from './errors.js';
export * from './log-client.js';
export * from './metrics.js';
export * from './node.js';
export * from './outbox.js';
export * from './sample-buffer.js';
export * from './serve.js';
export * from './submitter.js';
export * from './util.js';
