/**
 * The log's HTTP surface (DESIGN §4): statement submission, the C2SP tlog-tiles read API, JSON
 * proofs, tlog-proof receipts, /metrics, /healthz and /openapi.json. Errors are RFC 9457
 * problem+json from src/http/problem.ts.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { MAX_ENTRY_BYTES } from '../../protocol/src/index.js';
import { VPauseError } from '../core/errors.js';
import { problem, problemFromError, sendProblem } from '../http/problem.js';
import { parseTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { splitJsonArray } from './batch-body.js';
import { hashesJson } from './proof-json.js';
import type { LogService } from './service.js';

/** Most envelopes in one batch POST. */
export const MAX_BATCH = 1000;
/** Largest single POST body: one entry plus room for non-canonical whitespace. */
export const MAX_SINGLE_BODY = MAX_ENTRY_BYTES * 2;
/** Largest batch POST body. */
export const MAX_BATCH_BODY = MAX_BATCH * MAX_SINGLE_BODY;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=1, must-revalidate';

const JSON_TYPES = new Set(['application/json', 'application/vnd.dsse.envelope.v1+json']);

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Reads a body up to `limit` bytes. @throws ENTRY_TOO_LARGE / BATCH_TOO_LARGE */
async function readBody(c: Context, limit: number, code: string): Promise<Uint8Array> {
  const len = Number(c.req.header('content-length') ?? '0');
  if (len > limit)
    throw new VPauseError(code, `body of ${len} bytes is over the ${limit}-byte limit`);
  const buf = new Uint8Array(await c.req.arrayBuffer());
  if (buf.length > limit) {
    throw new VPauseError(code, `body of ${buf.length} bytes is over the ${limit}-byte limit`);
  }
  return buf;
}

const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string().optional(),
  })
  .openapi('Problem');
const ReceiptAck = z
  .object({ index: z.number().int().nonnegative(), leafHash: z.string().regex(/^[0-9a-f]{64}$/) })
  .openapi('Ack');
const Hashes = z.object({ hashes: z.array(z.string()) }).openapi('ProofHashes');
const problemResponse = {
  content: { 'application/problem+json': { schema: ProblemSchema } },
  description: 'RFC 9457 problem',
};

const intParam = (name: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/)
    .transform(Number)
    .refine(Number.isSafeInteger)
    .openapi({ param: { name, in: 'query' }, example: '0' });

const inclusionRoute = createRoute({
  method: 'get',
  path: '/v1/proof/inclusion',
  request: { query: z.object({ index: intParam('index'), size: intParam('size') }) },
  responses: {
    200: {
      content: { 'application/json': { schema: Hashes } },
      description: 'RFC 9162 inclusion proof',
    },
    400: problemResponse,
    404: problemResponse,
  },
});
const consistencyRoute = createRoute({
  method: 'get',
  path: '/v1/proof/consistency',
  request: { query: z.object({ old: intParam('old'), size: intParam('size') }) },
  responses: {
    200: {
      content: { 'application/json': { schema: Hashes } },
      description: 'RFC 9162 consistency proof',
    },
    400: problemResponse,
    404: problemResponse,
  },
});

export interface LogAppOptions {
  metrics: () => Promise<string>;
  metricsContentType: string;
}

export function createLogApp(svc: LogService, opts: LogAppOptions): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (!result.success) {
        return sendProblem(
          c,
          problem(
            'BAD_REQUEST',
            result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          ),
        );
      }
    },
  });
  app.onError((e, c) => sendProblem(c, problemFromError(e)));
  app.notFound((c) =>
    sendProblem(c, problem('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)),
  );

  const reg = app.openAPIRegistry;
  reg.registerPath({
    method: 'post',
    path: '/v1/statements',
    summary: 'Submit one DSSE envelope; answers once it is durably sequenced',
    request: {
      body: {
        content: { 'application/json': { schema: z.object({}).passthrough() } },
        required: true,
      },
    },
    responses: {
      200: {
        content: { 'application/json': { schema: ReceiptAck } },
        description: 'sequenced (or duplicate of an earlier entry)',
      },
      400: problemResponse,
      403: problemResponse,
      409: problemResponse,
      413: problemResponse,
      415: problemResponse,
      503: problemResponse,
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/v1/statements:batch',
    summary: `Submit up to ${MAX_BATCH} envelopes; one result per element`,
    request: {
      body: {
        content: { 'application/json': { schema: z.array(z.object({}).passthrough()) } },
        required: true,
      },
    },
    responses: {
      200: {
        content: {
          'application/json': {
            schema: z.object({
              results: z.array(z.union([ReceiptAck, z.object({ error: ProblemSchema })])),
            }),
          },
        },
        description: 'per-element results',
      },
      400: problemResponse,
      413: problemResponse,
      503: problemResponse,
    },
  });
  for (const [path, summary] of [
    ['/checkpoint', 'The latest (cosigned) checkpoint, a C2SP signed note'],
    ['/tile/{L}/{N}', 'A tlog-tiles hash tile (N in x-prefixed 3-digit groups, optional .p/W)'],
    ['/tile/entries/{N}', 'A tlog-tiles entry bundle (optional .p/W)'],
    ['/v1/entries/{index}', 'One log entry (the JCS encoding of a DSSE envelope)'],
    ['/v1/receipt/{index}', 'A C2SP tlog-proof of the entry against the served checkpoint'],
    ['/healthz', 'Liveness'],
    ['/metrics', 'Prometheus metrics'],
  ] as const) {
    reg.registerPath({
      method: 'get',
      path,
      summary,
      responses: { 200: { description: 'ok' }, 404: problemResponse },
    });
  }

  app.post('/v1/*', async (c) => {
    const path = c.req.path;
    if (path !== '/v1/statements' && path !== '/v1/statements:batch') {
      return sendProblem(c, problem('NOT_FOUND', `no route for POST ${path}`));
    }
    if (!JSON_TYPES.has(mediaType(c))) {
      return sendProblem(
        c,
        problem('UNSUPPORTED_MEDIA_TYPE', 'send Content-Type: application/json'),
      );
    }
    if (path === '/v1/statements') {
      const body = await readBody(c, MAX_SINGLE_BODY, 'ENTRY_TOO_LARGE');
      const r = await svc.submit(body);
      return c.json({ index: r.index, leafHash: r.leafHash }, 200);
    }
    const body = await readBody(c, MAX_BATCH_BODY, 'BATCH_TOO_LARGE');
    const results = await svc.submitBatch(splitJsonArray(body, { maxElements: MAX_BATCH }));
    return c.json(
      {
        results: results.map((r) =>
          'error' in r
            ? { error: problemFromError(r.error) }
            : { index: r.index, leafHash: r.leafHash },
        ),
      },
      200,
    );
  });

  app.get('/checkpoint', (c) => {
    const cp = svc.checkpoint();
    if (cp === undefined) return sendProblem(c, problem('NOT_FOUND', 'no checkpoint yet'));
    return c.body(cp.note as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-cache',
    });
  });

  app.get('/tile/*', async (c) => {
    let t: ReturnType<typeof parseTilePath>;
    try {
      t = parseTilePath(c.req.path.slice(1));
    } catch (e) {
      return sendProblem(c, problem('NOT_FOUND', (e as Error).message));
    }
    const data = t.entries
      ? await svc.entryBundle(t.index, t.width)
      : await svc.tile(t.level, t.index, t.width);
    if (data === undefined)
      return sendProblem(c, problem('NOT_FOUND', 'no such tile in this log (yet)'));
    return c.body(data as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/octet-stream',
      'cache-control': t.width === TILE_WIDTH ? IMMUTABLE : SHORT,
    });
  });

  app.get('/v1/entries/:index', async (c) => {
    const index = parseIndex(c.req.param('index'));
    const e = await svc.entry(index);
    if (e === undefined) return sendProblem(c, problem('NOT_FOUND', `no entry ${index}`));
    return c.body(e as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/json',
      'cache-control': IMMUTABLE,
    });
  });

  // The proof routes validate their query by hand (the same rule as their OpenAPI schema):
  // zod's validator middleware cost ~16 µs a request, about as much as the proof itself.
  app.openAPIRegistry.registerPath(inclusionRoute);
  app.get('/v1/proof/inclusion', (c): Response | Promise<Response> => {
    const [index, size] = queryInts(c, 'index', 'size');
    // Answered synchronously when the proof needs no storage read: @hono/node-server writes a
    // response that is not a promise on its shorter path.
    const now = svc.inclusionProofNow(index, size);
    if (now !== undefined) return hashesResponse(c, now);
    return svc.inclusionProof(index, size).then((hashes) => hashesResponse(c, hashes));
  });
  app.openAPIRegistry.registerPath(consistencyRoute);
  app.get('/v1/proof/consistency', async (c) => {
    const [old, size] = queryInts(c, 'old', 'size');
    const hashes = await svc.consistencyProof(old, size);
    return hashesResponse(c, hashes);
  });

  app.get('/v1/receipt/:index', async (c) => {
    const proof = await svc.receipt(parseIndex(c.req.param('index')));
    return c.body(proof, 200, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-cache',
    });
  });

  app.get('/healthz', async (c) =>
    c.json({
      ok: true,
      treeSize: svc.treeSize,
      sequenced: await svc.sequencedSize(),
      pending: svc.pending,
      proofIndexed: svc.proofIndexSize,
    }),
  );
  app.get('/metrics', async (c) =>
    c.body(await opts.metrics(), 200, { 'content-type': opts.metricsContentType }),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'vpause log',
      version: '1',
      description: 'The shared Merkle log of vpause statements',
    },
  });
  return app;
}

/**
 * Query parameters `a` and `b`, each given exactly once, as non-negative safe integers in
 * canonical decimal (the `intParam` schema above); other parameters are ignored. One scan of the
 * URL, no URLSearchParams. @throws {VPauseError<'BAD_REQUEST'>}
 */
function queryInts(c: Context, a: string, b: string): [number, number] {
  const url = c.req.url;
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  const end = hash < 0 ? url.length : hash;
  let va: string | undefined;
  let vb: string | undefined;
  let na = 0;
  let nb = 0;
  for (let at = q < 0 ? end : q + 1; at < end; ) {
    let amp = url.indexOf('&', at);
    if (amp < 0 || amp > end) amp = end;
    if (url.startsWith(a, at) && (at + a.length === amp || url[at + a.length] === '=')) {
      na++;
      va = url.slice(Math.min(amp, at + a.length + 1), amp);
    } else if (url.startsWith(b, at) && (at + b.length === amp || url[at + b.length] === '=')) {
      nb++;
      vb = url.slice(Math.min(amp, at + b.length + 1), amp);
    }
    at = amp + 1;
  }
  return [checkInt(a, na, va), checkInt(b, nb, vb)];
}

function checkInt(name: string, count: number, value: string | undefined): number {
  if (count !== 1 || value === undefined) {
    throw new VPauseError(
      'BAD_REQUEST',
      `query parameter ${name} must be given once (got ${count})`,
    );
  }
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new VPauseError(
      'BAD_REQUEST',
      `${name}: ${JSON.stringify(value)} is not a non-negative integer in canonical decimal`,
    );
  }
  return Number(value);
}

/** `{"hashes":[base64…]}`, written as bytes (./proof-json.ts). */
function hashesResponse(c: Context, hashes: readonly Uint8Array[]): Response {
  return c.body(hashesJson(hashes) as Uint8Array<ArrayBuffer>, 200, {
    'content-type': 'application/json',
  });
}

function parseIndex(s: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new VPauseError(
      'BAD_REQUEST',
      `index ${JSON.stringify(s)} is not a non-negative integer`,
    );
  }
  return Number(s);
}
