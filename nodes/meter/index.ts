/** The facility meter signer: sources of cumulative readings, per-interval integration, the daemon. */
export * from './config.js';
export * from './meter.js';
export * from './readings.js';
export * from './sources.js';
