/** The per-interval usage report of the attestation node. */
export * from './aggregate.js';
export * from './flop.js';
export * from './integrate.js';
export * from './interval.js';
export * from './sample-encoding.js';
