/**
 * A lean HTTP/1.1 GET over plain-http keep-alive connections, for the verifier's bulk reads:
 * the head of each answer is parsed here, and a body of announced length (Content-Length) is
 * copied from the socket's one read buffer (`net` `onread`) straight into the buffer it will be
 * read from. Measured on the bench log's 781 entry bundles (166 MiB), 8 GETs at a time, the
 * calling thread spent ~80 ms of CPU this way against ~380–440 ms through node:http in a
 * fresh process (whose HTTP client and stream code runs cold: an IncomingMessage, a readable
 * stream and a fresh ArrayBuffer for every 64 KiB read). That thread also packs every bundle
 * while worker threads need every core for signatures, so the difference is the verifier's wall
 * time. (Read buffers of 16 and 32 KiB measured the same within the noise; 256 KiB cost more.)
 *
 * It does only what those reads need, and hands anything else to node:http (`Unsupported`):
 * an answer without Content-Length (close-delimited), with a Transfer-Encoding, or with a 1xx
 * status is given up (its connection closed) and the GET sent again through node:http by the
 * caller (./http-get.ts). A GET is safe to repeat. No redirects, no content codings (it asks for
 * `identity`), no cookies, no cache.
 *
 * Connections: up to `MAX_SOCKETS` per origin, reused while idle for at most `IDLE_MS` (below
 * Node's default server keep-alive timeout of 5 s, so that a server rarely closes one as a
 * request goes out on it). When that happens anyway — the connection closes or resets before
 * any byte of an answer on a connection that answered before — the GET is sent once more on a
 * new connection; any other failure is the caller's.
 */
import net from 'node:net';

/** Connections per origin. */
const MAX_SOCKETS = 16;
/** How long an idle connection is kept, ms. */
const IDLE_MS = 4_000;
/** The largest response head read, bytes. */
const MAX_HEAD = 64 * 1024;
/** Bytes per socket read. */
const READ_BUFFER = 64 * 1024;

/** The answer needs what this client does not do (the caller uses node:http instead). */
export class Unsupported extends Error {}

/** A response head this client can read a body after. */
export interface ResponseHead {
  status: number;
  /** the body's length (0 for statuses without a body) */
  length: number;
  /** the server will close the connection after this answer, or asked for it */
  close: boolean;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9][0-9]{2})(?: [\t -~\x80-\xff]*)?$/;

/**
 * Parses a response head: the bytes before its blank line (`head` is latin1 text without the
 * final CRLF CRLF).
 * @throws {Unsupported} for an answer whose body length is not announced by Content-Length, that
 *   has a Transfer-Encoding, or has a 1xx status
 * @throws {Error} for a malformed head (RFC 9112 §2–6: status line, field syntax, conflicting
 *   Content-Length values)
 */
export function parseResponseHead(head: string): ResponseHead {
  const lines = head.split('\r\n');
  const m = STATUS_LINE.exec(lines[0]!);
  if (m === null) throw new Error('httpGet: malformed status line');
  const minor = m[1]!;
  const status = Number(m[2]);
  let length: number | undefined;
  let closeToken = false;
  let keepAlive = false;
  let encoded = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error('httpGet: malformed header field');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new Error('httpGet: malformed header field');
    const value = line.slice(colon + 1).trim();
    switch (name.toLowerCase()) {
      case 'content-length': {
        // A list of one value repeated is that value (RFC 9112 §6.3); anything else is an error.
        for (const v of value.split(',')) {
          const t = v.trim();
          if (!/^[0-9]{1,15}$/.test(t)) throw new Error('httpGet: malformed Content-Length');
          const n = Number(t);
          if (length !== undefined && length !== n)
            throw new Error('httpGet: conflicting Content-Length');
          length = n;
        }
        break;
      }
      case 'transfer-encoding':
        encoded = true;
        break;
      case 'connection':
        for (const t of value.toLowerCase().split(',')) {
          if (t.trim() === 'close') closeToken = true;
          if (t.trim() === 'keep-alive') keepAlive = true;
        }
        break;
    }
  }
  // HTTP/1.0 closes unless it asks to keep the connection alive (RFC 9112 §9.3).
  const close = closeToken || (minor === '0' && !keepAlive);
  if (status < 200) throw new Unsupported(`HTTP ${status}`);
  if (status === 204 || status === 304) return { status, length: 0, close };
  if (encoded) throw new Unsupported('Transfer-Encoding');
  if (length === undefined) throw new Unsupported('no Content-Length');
  return { status, length, close };
}

/** A request that failed before any answer on a reused connection the server had closed. */
export class StaleConnection extends Error {}

interface Pending {
  resolve: (r: { status: number; body: Uint8Array }) => void;
  reject: (e: unknown) => void;
  alloc: ((length: number) => Uint8Array) | undefined;
  /** bytes of the head so far */
  head: Buffer[];
  headLen: number;
  /** set once the head is read */
  res: ResponseHead | undefined;
  body: Uint8Array | undefined;
  got: number;
  /** any byte of the answer received */
  answered: boolean;
}

/** One connection: idle, or carrying one request. */
class Conn {
  readonly socket: net.Socket;
  /** answered a request before (a failure before any answer may then be a stale connection) */
  reused = false;
  pending: Pending | undefined;
  private error: Error | undefined;

  constructor(
    readonly pool: Pool,
    host: string,
    port: number,
    timeoutMs: number,
  ) {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.data(buf, n);
          return true;
        },
      },
    });
    this.socket.setTimeout(timeoutMs, () => {
      if (this.pending !== undefined) this.socket.destroy(new Error('httpGet: timed out'));
      else this.socket.destroy();
    });
    this.socket.on('error', (e) => {
      this.error = e;
    });
    this.socket.on('close', () => this.closed());
  }

  /** Sends a GET; answered through `p`. */
  send(path: string, host: string, p: Pending): void {
    this.pending = p;
    this.socket.ref();
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept-Encoding: identity\r\nAccept: */*\r\n\r\n`,
      'latin1',
    );
  }

  private data(buf: Uint8Array, n: number): void {
    const p = this.pending;
    if (p === undefined) {
      // Bytes nobody asked for: the connection is no longer in step.
      this.socket.destroy();
      return;
    }
    p.answered = true;
    let at = 0;
    try {
      if (p.res === undefined) {
        at = this.readHead(p, buf, n);
        if (at < 0) return;
      }
      const take = Math.min(n - at, p.res!.length - p.got);
      if (take > 0) {
        p.body!.set(buf.subarray(at, at + take), p.got);
        p.got += take;
        at += take;
      }
    } catch (e) {
      this.pending = undefined;
      this.socket.destroy();
      p.reject(e);
      return;
    }
    if (p.got < p.res!.length) return;
    // Complete. Bytes past the body, or a server that closes, end the connection.
    this.pending = undefined;
    this.reused = true;
    const keep = at === n && !p.res!.close;
    p.resolve({ status: p.res!.status, body: p.body! });
    this.pool.release(this, keep);
  }

  /** Reads head bytes; the offset in `buf` where the body starts once the head is whole, else -1. */
  private readHead(p: Pending, buf: Uint8Array, n: number): number {
    const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
    // Nearly always the head comes whole in the first read (with the start of the body): it is
    // read in place. Only a head that straddles reads is kept, copied (the read buffer is
    // reused), and the blank line searched from 3 bytes before the new read.
    const before = p.headLen;
    const all = before === 0 ? chunk : Buffer.concat([...p.head, chunk], before + n);
    const end = all.indexOf('\r\n\r\n', Math.max(0, before - 3), 'latin1');
    if (end > MAX_HEAD || (end < 0 && before + n > MAX_HEAD)) {
      throw new Error('httpGet: response head too large');
    }
    if (end < 0) {
      p.head.push(Buffer.from(chunk));
      p.headLen += n;
      return -1;
    }
    p.head = [];
    const res = parseResponseHead(all.toString('latin1', 0, end));
    p.res = res;
    if (res.length > 0) {
      const b = p.alloc?.(res.length);
      p.body = b === undefined ? new Uint8Array(res.length) : b.subarray(0, res.length);
      if (p.body.length !== res.length) {
        throw new RangeError(`httpGet: alloc gave ${b?.length} bytes for ${res.length}`);
      }
    } else p.body = new Uint8Array(0);
    return end + 4 - before;
  }

  private closed(): void {
    this.pool.forget(this);
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    const e = this.error;
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    const reset = e === undefined || code === 'ECONNRESET' || code === 'EPIPE';
    if (!p.answered && this.reused && reset) {
      p.reject(new StaleConnection(e?.message ?? 'socket hang up'));
    } else if (p.res !== undefined) {
      p.reject(new Error('httpGet: response aborted'));
    } else {
      p.reject(e ?? new Error('socket hang up'));
    }
  }
}

/** The connections to one origin. */
class Pool {
  private readonly idle: Conn[] = [];
  private open = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    readonly hostHeader: string,
  ) {}

  /** An idle connection, a new one (`fresh`: always), or one as soon as one is free. */
  async acquire(fresh: boolean, timeoutMs: number): Promise<Conn> {
    for (;;) {
      if (!fresh) {
        const c = this.idle.pop();
        if (c !== undefined) return c;
      }
      if (this.open < MAX_SOCKETS) {
        this.open++;
        return new Conn(this, this.host, this.port, timeoutMs);
      }
      if (fresh && this.idle.length > 0) {
        this.idle.shift()!.socket.destroy();
        continue;
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  release(c: Conn, keep: boolean): void {
    if (keep && !c.socket.destroyed) {
      c.socket.unref();
      c.socket.setTimeout(IDLE_MS);
      this.idle.push(c);
    } else {
      c.socket.destroy();
    }
    this.waiting.shift()?.();
  }

  /** A connection closed: no longer open or idle. */
  forget(c: Conn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.open--;
    this.waiting.shift()?.();
  }

  async get(
    path: string,
    alloc: ((length: number) => Uint8Array) | undefined,
    timeoutMs: number,
    fresh: boolean,
  ): Promise<{ status: number; body: Uint8Array }> {
    const c = await this.acquire(fresh, timeoutMs);
    c.socket.setTimeout(timeoutMs);
    return new Promise((resolve, reject) => {
      c.send(path, this.hostHeader, {
        resolve,
        reject,
        alloc,
        head: [],
        headLen: 0,
        res: undefined,
        body: undefined,
        got: 0,
        answered: false,
      });
    });
  }
}

const pools = new Map<string, Pool>();

/**
 * GETs a plain-http URL over a kept-alive connection of this client.
 * @throws {Unsupported} when the answer needs node:http (the connection is closed)
 * @throws {StaleConnection} when a reused connection closed before any answer
 * @throws {Error} on a network error, a stalled or malformed answer, or a body cut short
 */
export function http1Get(
  u: URL,
  alloc: ((length: number) => Uint8Array) | undefined,
  timeoutMs: number,
  fresh = false,
): Promise<{ status: number; body: Uint8Array }> {
  let pool = pools.get(u.host);
  if (pool === undefined) {
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    pool = new Pool(host, Number(u.port || 80), u.host);
    pools.set(u.host, pool);
  }
  return pool.get(`${u.pathname}${u.search}`, alloc, timeoutMs, fresh);
}
