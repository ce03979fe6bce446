/** The audit protocol: challenge and response schemas, the verifier's client and checker, the node's responder. */
export * from './check.js';
export * from './client.js';
export * from './protocol.js';
export * from './responder.js';
