// Worker-thread entry of the verifier's ingestion pool (src/verifier/ingest.ts). The sources are
// TypeScript, run through tsx as the CLI runs them; the work itself is in worker-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker-thread.ts');
