/**
 * The witness's HTTP surface: C2SP tlog-witness `POST /add-checkpoint` and
 * `GET /<hex sha256(origin)>/checkpoint` (submission and monitoring prefix are both the root),
 * plus /healthz, /metrics and /openapi.json like every vpause service.
 *
 * The protocol endpoints answer in the protocol's own terms, not problem+json: a 200 body is
 * cosignature lines, a 409 body is the stored size (`text/x.tlog.size`), and the other refusals
 * carry a one-line plain-text reason. Unknown routes get the usual problem+json 404.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { problem, problemFromError, sendProblem } from '../http/problem.js';
import { formatTlogSize, MAX_ADD_CHECKPOINT_BYTES, TLOG_SIZE_CONTENT_TYPE } from './protocol.js';
import type { Witness } from './witness.js';

const TEXT = 'text/plain; charset=utf-8';
const ORIGIN_HASH_RE = /^[0-9a-f]{64}$/;

export interface WitnessAppOptions {
  metrics: () => Promise<string>;
  metricsContentType: string;
  /** Shown at /healthz. */
  name: string;
}

async function readLimited(c: Context, limit: number): Promise<Uint8Array | undefined> {
  const len = Number(c.req.header('content-length') ?? '0');
  if (len > limit) return undefined;
  const buf = new Uint8Array(await c.req.arrayBuffer());
  return buf.length > limit ? undefined : buf;
}

/** Builds the witness app around a {@link Witness}. */
export function createWitnessApp(w: Witness, opts: WitnessAppOptions): OpenAPIHono {
  const app = new OpenAPIHono();
  app.onError((e, c) => sendProblem(c, problemFromError(e)));
  app.notFound((c) =>
    sendProblem(c, problem('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`)),
  );

  const text = (description: string) => ({
    content: { [TEXT]: { schema: z.string() } },
    description,
  });
  const reg = app.openAPIRegistry;
  reg.registerPath({
    method: 'post',
    path: '/add-checkpoint',
    summary:
      'C2SP tlog-witness add-checkpoint: old size line, consistency proof lines, blank line, checkpoint',
    request: {
      body: { content: { 'text/plain': { schema: z.string() } }, required: true },
    },
    responses: {
      200: text('cosignature line(s): timestamped Ed25519 tlog-cosignature v1 (type 0x04)'),
      400: text('malformed request, or old size above the checkpoint size'),
      403: text('no valid signature by a trusted key of the origin'),
      404: text('unknown log origin'),
      409: {
        content: { [TLOG_SIZE_CONTENT_TYPE]: { schema: z.string() } },
        description: 'old size is not the last cosigned size: body is that size and a newline',
      },
      413: text('request body over 64 KiB'),
      422: text('checkpoint inconsistent with the last cosigned one (nothing stored)'),
      500: text('the new state could not be persisted (nothing cosigned)'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/{originHash}/checkpoint',
    summary: 'The latest cosigned checkpoint of the log whose origin has this hex SHA-256',
    request: {
      params: z.object({ originHash: z.string().regex(ORIGIN_HASH_RE) }),
    },
    responses: {
      200: text('the checkpoint with the log signature(s) and this witness’s cosignature'),
      404: text('never cosigned a checkpoint of this log'),
    },
  });
  for (const [path, summary] of [
    ['/healthz', 'Liveness'],
    ['/metrics', 'Prometheus metrics'],
  ] as const) {
    reg.registerPath({ method: 'get', path, summary, responses: { 200: { description: 'ok' } } });
  }

  app.post('/add-checkpoint', async (c) => {
    const body = await readLimited(c, MAX_ADD_CHECKPOINT_BYTES);
    const o = await w.addCheckpoint(body ?? new Uint8Array(MAX_ADD_CHECKPOINT_BYTES + 1));
    if (o.status === 200) return c.body(o.body, 200, { 'content-type': TEXT });
    if (o.status === 409) {
      return c.body(formatTlogSize(o.size), 409, { 'content-type': TLOG_SIZE_CONTENT_TYPE });
    }
    return c.body(`${o.reason}\n`, o.status, { 'content-type': TEXT });
  });

  app.get('/:originHash/checkpoint', (c) => {
    const hash = c.req.param('originHash');
    const note = ORIGIN_HASH_RE.test(hash) ? w.checkpointByOriginHash(hash) : undefined;
    if (note === undefined) {
      return c.body('no checkpoint of this log has been cosigned\n', 404, { 'content-type': TEXT });
    }
    return c.body(note, 200, { 'content-type': TEXT, 'cache-control': 'no-cache' });
  });

  app.get('/healthz', (c) => c.json({ ok: true, name: opts.name, logs: w.origins }));
  app.get('/metrics', async (c) =>
    c.body(await opts.metrics(), 200, { 'content-type': opts.metricsContentType }),
  );
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'vpause witness',
      version: '1',
      description: 'A C2SP tlog-witness: cosigns checkpoints consistent with all it has seen',
    },
  });
  return app;
}
