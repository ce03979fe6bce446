/**
 * The lean HTTP/1.1 GET (src/client/http1.ts): the response heads it reads and the ones it hands
 * to node:http, against vectors and generated heads; and its connections, against plain TCP
 * servers on 127.0.0.1 that answer byte by byte, send more than asked, close, or stall.
 */
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { httpGet } from '../../src/client/http-get.js';
import { http1Get, parseResponseHead, Unsupported } from '../../src/client/http1.js';

describe('parseResponseHead', () => {
  it('reads status, length and whether the connection stays open', () => {
    expect(parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 12')).toEqual({
      status: 200,
      length: 12,
      close: false,
    });
    expect(parseResponseHead('HTTP/1.1 404 Not Found\r\ncontent-length:0')).toEqual({
      status: 404,
      length: 0,
      close: false,
    });
    // an empty reason phrase, a list of one value repeated, a close token among others
    expect(
      parseResponseHead('HTTP/1.1 200 \r\nContent-Length: 7, 7\r\nConnection: Upgrade, close'),
    ).toEqual({ status: 200, length: 7, close: true });
    // HTTP/1.0 closes unless it asks for keep-alive
    expect(parseResponseHead('HTTP/1.0 200 OK\r\nContent-Length: 1').close).toBe(true);
    expect(
      parseResponseHead('HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive').close,
    ).toBe(false);
    // no body whatever is announced
    expect(parseResponseHead('HTTP/1.1 204 No Content').length).toBe(0);
    expect(parseResponseHead('HTTP/1.1 304 Not Modified\r\nContent-Length: 99').length).toBe(0);
  });

  it('hands answers without an announced length to node:http', () => {
    for (const head of [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked',
      'HTTP/1.1 200 OK',
      'HTTP/1.1 100 Continue',
      'HTTP/1.1 103 Early Hints\r\nLink: </a>',
    ]) {
      expect(() => parseResponseHead(head), head).toThrow(Unsupported);
    }
  });

  it('refuses malformed heads', () => {
    for (const head of [
      'HTTP/2 200 OK\r\nContent-Length: 1',
      'HTTP/1.1 20 OK\r\nContent-Length: 1',
      'HTTP/1.1 200OK\r\nContent-Length: 1',
      'http/1.1 200 OK\r\nContent-Length: 1',
      'HTTP/1.1 200 OK\r\nContent-Length: 5, 6',
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6',
      'HTTP/1.1 200 OK\r\nContent-Length: -1',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n folded',
      'HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 1',
      'HTTP/1.1 200 OK\r\nno colon',
    ]) {
      expect(() => parseResponseHead(head), head).toThrow(/httpGet: malformed|conflicting/);
    }
  });

  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
  const value = fc.stringMatching(/^[ -~]{0,40}$/).map((v) => v.trim());

  it('finds Content-Length among any other fields, in any case', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(token, value), { maxLength: 12 }),
        fc.nat({ max: 2 ** 40 }),
        fc.nat(),
        fc.constantFrom('content-length', 'Content-Length', 'CONTENT-LENGTH'),
        (fields, length, where, name) => {
          const others = fields.filter(
            ([n]) => !/^(content-length|transfer-encoding|connection)$/i.test(n),
          );
          const lines = others.map(([n, v]) => `${n}: ${v}`);
          lines.splice(where % (lines.length + 1), 0, `${name}: ${length}`);
          const head = ['HTTP/1.1 200 OK', ...lines].join('\r\n');
          expect(parseResponseHead(head)).toEqual({ status: 200, length, close: false });
        },
      ),
    );
  });

  it('throws nothing but its own errors on any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 200 }), (s) => {
        try {
          parseResponseHead(`HTTP/1.1 200 OK\r\n${s}`);
          parseResponseHead(s);
        } catch (e) {
          expect(e instanceof Unsupported || /^httpGet: /.test((e as Error).message)).toBe(true);
        }
      }),
    );
  });
});

/**
 * A TCP server that answers each GET it reads with `answer(n, connection)` (n counts requests
 * over all connections), written `split` bytes at a time.
 */
async function server(
  answer: (n: number, sock: net.Socket) => Buffer | 'drop' | 'stall',
  split = 0,
) {
  let requests = 0;
  let connections = 0;
  const open = new Set<net.Socket>();
  const s = net.createServer((sock) => {
    connections++;
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', async (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        buf = buf.slice(end + 4);
        const a = answer(requests++, sock);
        if (a === 'drop') {
          sock.destroy();
          return;
        }
        if (a === 'stall') return;
        if (split <= 0) sock.write(a);
        else {
          for (let i = 0; i < a.length; i += split) {
            sock.write(a.subarray(i, i + split));
            await new Promise((r) => setImmediate(r));
          }
        }
      }
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    url: (path = '/x') => `http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`,
    requests: () => requests,
    connections: () => connections,
    close: () => {
      for (const sock of open) sock.destroy();
      return new Promise((r) => s.close(r));
    },
  };
}

const ok = (body: Buffer, extra = '') =>
  Buffer.concat([
    Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n`, 'latin1'),
    body,
  ]);

describe('http1Get', () => {
  it('reads a head and body that arrive a few bytes at a time', async () => {
    const body = randomBytes(5000);
    const srv = await server(() => ok(body, 'X-Long: '.padEnd(300, 'y') + '\r\n'), 7);
    try {
      const g = await httpGet(srv.url());
      expect(g.status).toBe(200);
      expect(Buffer.from(g.body).equals(body)).toBe(true);
      // and again on the same connection
      expect(Buffer.from((await httpGet(srv.url())).body).equals(body)).toBe(true);
      expect(srv.connections()).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('answers many GETs at once over at most 16 connections', async () => {
    const bodies = Array.from({ length: 60 }, (_, i) => randomBytes(1000 + i * 997));
    const srv = await server((n, sock) => {
      void sock;
      return ok(bodies[n % 60]!);
    });
    try {
      const got = await Promise.all(bodies.map(() => httpGet(srv.url())));
      // each answer is whole (which request got which body depends on the order of the server's
      // reads; every body was sent once and each arrived intact)
      const seen = new Set(got.map((g) => Buffer.from(g.body).toString('hex')));
      expect(seen).toEqual(new Set(bodies.map((b) => b.toString('hex'))));
      expect(srv.connections()).toBeLessThanOrEqual(16);
    } finally {
      await srv.close();
    }
  });

  it('does not reuse a connection that sent more than asked, or that is to close', async () => {
    const body = Buffer.from('hello');
    const srv = await server((n) =>
      n === 0
        ? Buffer.concat([ok(body), Buffer.from('garbage')])
        : n === 1
          ? ok(body, 'Connection: close\r\n')
          : ok(body),
    );
    try {
      for (let i = 0; i < 3; i++) {
        expect(Buffer.from((await httpGet(srv.url())).body).toString()).toBe('hello');
      }
      expect(srv.connections()).toBe(3);
    } finally {
      await srv.close();
    }
  });

  it('gives up a chunked answer and reads it through node:http', async () => {
    const srv = await server(() =>
      Buffer.from(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
        'latin1',
      ),
    );
    try {
      let asked = false;
      const g = await httpGet(srv.url(), {
        alloc: (n) => {
          asked = true;
          return new Uint8Array(n);
        },
      });
      expect(Buffer.from(g.body).toString()).toBe('hello world');
      expect(asked).toBe(false);
      expect(srv.requests()).toBe(2); // once here, once through node:http
    } finally {
      await srv.close();
    }
  });

  it('fails on a malformed head, a head too large, or a stall', async () => {
    const srv = await server((n) =>
      n === 0
        ? Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx', 'latin1')
        : n === 1
          ? Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX: ${'a'.repeat(70_000)}\r\n\r\nx`,
              'latin1',
            )
          : 'stall',
    );
    try {
      await expect(httpGet(srv.url())).rejects.toThrow(/conflicting Content-Length/);
      await expect(httpGet(srv.url())).rejects.toThrow(/response head too large/);
      await expect(http1Get(new URL(srv.url()), undefined, 200)).rejects.toThrow(/timed out/);
    } finally {
      await srv.close();
    }
  });

  it('fails when the body is cut short, and works afterwards', async () => {
    const srv = await server((n, sock) => {
      if (n === 0) {
        setTimeout(() => sock.destroy(), 30);
        return Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this', 'latin1');
      }
      return ok(Buffer.from('fine'));
    });
    try {
      await expect(httpGet(srv.url())).rejects.toThrow(/response aborted/);
      expect(Buffer.from((await httpGet(srv.url())).body).toString()).toBe('fine');
    } finally {
      await srv.close();
    }
  });
});
