/** The telemetry collectors of the attestation node. */
export * from './capture.js';
export * from './dcgm.js';
export * from './errors.js';
export * from './nvidia-smi.js';
export * from './nvidia-smi-csv.js';
export * from './prng.js';
export * from './replay.js';
export * from './sample.js';
export * from './synthetic.js';
