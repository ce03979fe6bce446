/**
 * A plain HTTP GET for bulk reads (a verifier reads every entry bundle of a log): keep-alive
 * connections, the body read into one buffer of its own (sized from Content-Length when the
 * server gives it). It costs the calling thread far less than `fetch` per response, which
 * matters when hundreds of bundles arrive while worker threads need every core. Plain-http URLs
 * go through ./http1.ts, a lean client for answers of announced length, which hands anything
 * else back to node:http; https URLs go through node:https.
 *
 * It does only what those reads need: no redirects (a 3xx is returned as it is: callers fall
 * back to `fetch`), no content codings (it asks for `identity`), no cookies, no cache.
 *
 * A kept-alive connection may be closed by the server (Node's default idle timeout is 5 s) just
 * as a request goes out on it: the request then fails with "socket hang up" or ECONNRESET before
 * any answer. A GET that fails so on a reused connection is sent again once, on a new one (what
 * Node's documentation of `request.reusedSocket` advises); a failure on a new connection, or
 * after the head of an answer, is the caller's.
 */
import http from 'node:http';
import https from 'node:https';
import { http1Get, StaleConnection, Unsupported } from './http1.js';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 16 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

/** Seconds a response may stall before the request fails (undici's default body timeout). */
const TIMEOUT_MS = 300_000;

export interface GetResponse {
  status: number;
  /** the whole body: a buffer of its own, or a view of one `alloc` gave */
  body: Uint8Array;
}

export interface GetOptions {
  /**
   * Gives the buffer for a body whose length the server announced (at least that long; the body
   * is then its first bytes). Lets a caller that reads many bodies reuse its buffers: fresh
   * memory costs a page fault per 4 KiB touched, which is dear on some virtual machines.
   */
  alloc?: (length: number) => Uint8Array;
}

/** Whether `httpGet` can fetch this URL (http: or https:). */
export function canHttpGet(url: string): boolean {
  return url.startsWith('http://') || url.startsWith('https://');
}

/**
 * GETs `url` and reads the whole body.
 * @throws {Error} on a network error, a stalled response or a body shorter than announced
 */
export async function httpGet(url: string, opts: GetOptions = {}): Promise<GetResponse> {
  const u = new URL(url);
  if (u.protocol === 'http:') {
    try {
      return await onceMore((fresh) => http1Get(u, opts.alloc, TIMEOUT_MS, fresh));
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      // An answer the lean client does not read: the GET again through node:http.
    }
  }
  return onceMore((fresh) => getOnce(url, opts, !fresh));
}

/** Runs `get`, and once more on a new connection when it failed on a stale kept-alive one. */
function onceMore(get: (fresh: boolean) => Promise<GetResponse>): Promise<GetResponse> {
  return get(false).catch((e: unknown) => {
    if (!(e instanceof StaleConnection)) throw e;
    return get(true);
  });
}

function getOnce(url: string, opts: GetOptions, mayRetry = true): Promise<GetResponse> {
  return new Promise<GetResponse>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      reject(e);
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const agent = agents[u.protocol as keyof typeof agents];
    if (agent === undefined) {
      reject(new TypeError(`httpGet: unsupported protocol ${u.protocol}`));
      return;
    }
    const req = mod.get(u, { agent, headers: { 'accept-encoding': 'identity' } }, (res) => {
      const status = res.statusCode ?? 0;
      const announced = Number(res.headers['content-length']);
      let body: Uint8Array | undefined;
      if (Number.isSafeInteger(announced) && announced >= 0) {
        try {
          const b = opts.alloc?.(announced);
          body = b === undefined ? new Uint8Array(announced) : b.subarray(0, announced);
          if (body.length !== announced) {
            throw new RangeError(`httpGet: alloc gave ${b?.length} bytes for ${announced}`);
          }
        } catch (e) {
          // no buffer for the announced length (alloc's answer, or more memory than there is)
          req.destroy(e as Error);
          return;
        }
      }
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        if (body !== undefined && got + c.length <= body.length) body.set(c, got);
        else {
          if (body !== undefined) {
            // longer than announced: keep it all, the caller sees what was sent
            chunks.push(Buffer.from(body.buffer, body.byteOffset, got));
            body = undefined;
          }
          chunks.push(c);
        }
        got += c.length;
      });
      res.on('end', () => {
        if (body !== undefined) {
          if (got !== body.length) {
            reject(new Error(`httpGet: ${got} of ${body.length} bytes`));
            return;
          }
          resolve({ status, body });
          return;
        }
        const all = new Uint8Array(got);
        let o = 0;
        for (const c of chunks) {
          all.set(c, o);
          o += c.length;
        }
        resolve({ status, body: all });
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('httpGet: response aborted')));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('httpGet: timed out')));
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const closed = e.code === 'ECONNRESET' || e.message === 'socket hang up';
      if (mayRetry && !answered && req.reusedSocket && closed) {
        reject(new StaleConnection(e.message, { cause: e }));
      } else {
        reject(e);
      }
    });
  });
}
