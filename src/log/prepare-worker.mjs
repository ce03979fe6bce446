// Worker-thread entry of the log's preparation pool (src/log/prepare-pool.ts) through tsx, used
// when no bundle of prepare-thread.ts can be had or VPAUSE_WORKER_TSX=1
// (src/util/worker-entry.ts): the sources run as the CLI runs them; the work is in
// prepare-thread.ts.
import { register } from 'tsx/esm/api';

register();
await import('./prepare-thread.ts');
