// Writing to the agent: upstream responses (through the response guard) and Sluice's own error answers.
import type { ServerResponse, IncomingMessage } from 'node:http';
import { Readable, pipeline } from 'node:stream';
import { errorResponse } from '../errors.ts';
import type { BodyFilter, ExchangeContext, Guard, GuardReport } from '../guard/types.ts';
import { endToEndResponseHeaders, flatten, headerValue, withoutHeaders, type HeaderPairs } from './headers.ts';
import type { UpstreamResponse } from './upstream.ts';

export interface RelayResult {
  readonly head: GuardReport;
  readonly body: BodyFilter | null;
}

/**
 * Relay the upstream response. Headers wait for the first scanned bytes, so a block found early is still a
 * clean 403; resolves once the body has been written (or rejects; the caller maps the error).
 */
export async function relayResponse(
  guard: Guard,
  ex: ExchangeContext,
  req: IncomingMessage,
  res: ServerResponse,
  upstream: UpstreamResponse,
  onBytesOut: (n: number) => void,
  onFilter: (filter: BodyFilter) => void,
): Promise<RelayResult> {
  // The agent going away must stop the upstream transfer at once, even while the guard waits for more bytes
  // (an endless or stalled upstream would otherwise hold its socket until the body timeout).
  res.once('close', () => {
    if (!res.writableFinished) upstream.body.destroy();
  });
  const baseHead = { status: upstream.statusCode, headers: endToEndResponseHeaders(upstream.headers) };
  const checked = guard.checkResponseHead(ex, baseHead);
  const bodyless = req.method === 'HEAD' || upstream.statusCode === 204 || upstream.statusCode === 304;
  const filter = bodyless ? null : guard.responseBody(ex, checked.head);
  const headers: HeaderPairs = checked.head.headers.map(([k, v]) => [k, v]);
  if (filter) onFilter(filter);
  const declared = Number(headerValue(headers, 'content-length'));
  // Identity only: a small compressed body can decode to far more than SMALL_BODY_BYTES.
  const encoding = (headerValue(headers, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (Number.isInteger(declared) && declared <= SMALL_BODY_BYTES && encoding === 'identity') {
    await relaySmall(upstream, res, headers, filter, onBytesOut);
  } else if (filter) {
    await relayFiltered(upstream, res, headers, filter, onBytesOut);
  } else {
    res.writeHead(upstream.statusCode, flatten(headers));
    await pipe(upstream.body, res, onBytesOut);
  }
  return { head: checked.report, body: filter };
}

/**
 * A small body of known length (bounded by SMALL_BODY_BYTES; undici enforces the declared length): read it whole,
 * run it through the filter in one write, and answer with one end(), so head and body leave in one TLS write
 * without per-response stream plumbing (the pipelines were a measurable share of CPU per small request).
 */
async function relaySmall(upstream: UpstreamResponse, res: ServerResponse, headers: HeaderPairs, filter: BodyFilter | null, onBytesOut: (n: number) => void): Promise<void> {
  let body = await readWhole(upstream.body);
  let outHeaders = headers;
  if (filter) {
    if (filter.cleanWhole) body = filter.cleanWhole(body);
    else {
      filter.stream.end(body);
      body = await readWhole(filter.stream);
    }
    // The cleaned body is whole, so its length is known: a Content-Length, not chunked framing (the agent
    // sees the size, and head and body leave as one buffer with no chunk headers).
    outHeaders = [...filteredHeaders(headers, filter), ['content-length', String(body.length)]];
  }
  onBytesOut(body.length);
  res.writeHead(upstream.statusCode, flatten(outHeaders));
  res.end(body);
}

/** Stream through the filter; headers wait for the first scanned bytes so an early block is still a clean 403. */
async function relayFiltered(upstream: UpstreamResponse, res: ServerResponse, headers: HeaderPairs, filter: BodyFilter, onBytesOut: (n: number) => void): Promise<void> {
  pipeline(upstream.body, filter.stream, () => undefined);
  const iterator = filter.stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  res.writeHead(upstream.statusCode, flatten(filteredHeaders(headers, filter)));
  const rest = Readable.from(
    (async function* relay() {
      try {
        if (!first.done) yield first.value as Buffer;
        for (;;) {
          const next = await iterator.next();
          if (next.done) return;
          yield next.value as Buffer;
        }
      } finally {
        // Stopped early (agent gone, write error): release the filter and with it the upstream body.
        await iterator.return?.();
      }
    })(),
  );
  await pipe(rest, res, onBytesOut);
}

/** The filter re-frames and may decode: drop length and encoding; add its annotations (read after first output). */
function filteredHeaders(headers: HeaderPairs, filter: BodyFilter): HeaderPairs {
  let out = withoutHeaders(headers, filter.outputEncoding === 'identity' ? ['content-length', 'content-encoding'] : ['content-length']);
  const annotations = filter.annotations?.() ?? {};
  const names = Object.keys(annotations);
  if (names.length > 0) out = [...withoutHeaders(out, names), ...Object.entries(annotations).map(([k, v]): [string, string] => [k, String(v)])];
  return out;
}

/**
 * Events rather than `for await`: the async iterator costs a promise and an end-of-stream watcher per body, a
 * measurable share of a small GET. It rejects as the iterator would: with the stream's error, or with a
 * premature close when the stream is destroyed before its end (the agent went away).
 */
function readWhole(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => {
      if (!stream.readableEnded) reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}

const SMALL_BODY_BYTES = 64 * 1024;

function pipe(source: Readable, res: ServerResponse, onBytes: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // A second 'data' listener counts without a Transform hop per chunk (pipe's pause still applies backpressure).
    source.on('data', (chunk: Buffer) => onBytes(chunk.length));
    pipeline(source, res, (err) => (err ? reject(err) : resolve()));
  });
}

/** Answer with the contract's error, or cut the stream if the headers already went out. */
export function respondWithError(req: IncomingMessage, res: ServerResponse, error: unknown): number {
  if (res.headersSent) {
    res.destroy();
    return res.statusCode;
  }
  const answer = errorResponse(error);
  // An unread request body would otherwise be parsed as the next request on this connection.
  if (!req.complete) answer.headers['connection'] = 'close';
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
  if (!req.complete) res.once('finish', () => req.socket.destroySoon?.());
  return answer.status;
}
