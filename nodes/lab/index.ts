/** The lab tools: registrations, inventory and pause declarations, published with verified receipts. */
export * from './publish.js';
export * from './statements.js';
