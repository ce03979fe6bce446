// Worker-thread entry of the verifier's ingestion pool (src/verifier/ingest.ts) through tsx,
// used when no bundle of worker-thread.ts can be had or VPAUSE_WORKER_TSX=1
// (src/util/worker-entry.ts): the sources run as the CLI runs them; the work is in
// worker-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
