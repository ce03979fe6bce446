// Worker-thread entry of the verifier's verification pool (src/verifier/ingest.ts) through tsx,
// used when no bundle of verify-thread.ts can be had or VPAUSE_WORKER_TSX=1
// (src/util/worker-entry.ts): the sources run as the CLI runs them; the work is in
// verify-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./verify-thread.ts');
