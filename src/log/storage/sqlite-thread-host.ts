/**
 * The thread side of the threaded SQLite driver (./sqlite-thread.ts): opens the database with the
 * ordinary driver (./sqlite.ts) and runs each call it is sent, in order, answering with the result
 * or the error's name, code and message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStorage, type SqliteStorageOptions } from './sqlite.js';

interface Call {
  id: number;
  method: string;
  args: unknown[];
}

const port = parentPort!;

function wire(e: unknown): { name: string; code?: string; message: string } {
  const err = e as { name?: string; code?: unknown; message?: string };
  return {
    name: err.name ?? 'Error',
    ...(typeof err.code === 'string' ? { code: err.code } : {}),
    message: err.message ?? String(e),
  };
}

let storage: SqliteStorage;
try {
  storage = await SqliteStorage.open(workerData as SqliteStorageOptions);
  port.postMessage({ id: 0, result: null });
} catch (e) {
  port.postMessage({ id: 0, error: wire(e) });
  process.exit(0);
}

port.on('message', async (c: Call) => {
  try {
    const f = (storage as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      c.method
    ];
    if (typeof f !== 'function') throw new TypeError(`no storage method ${c.method}`);
    const result = await f.apply(storage, c.args);
    port.postMessage({ id: c.id, result });
    if (c.method === 'close') port.close();
  } catch (e) {
    port.postMessage({ id: c.id, error: wire(e) });
  }
});
