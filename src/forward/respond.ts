// Writing to the agent: upstream responses (through the response guard) and Sluice's own error answers.
import type { ServerResponse, IncomingMessage } from 'node:http';
import { Readable, pipeline } from 'node:stream';
import { errorResponse } from '../errors.ts';
import type { BodyFilter, ExchangeContext, Guard, GuardReport } from '../guard/types.ts';
import { byteCounter } from './body.ts';
import { endToEndResponseHeaders, flatten, withoutHeaders, type HeaderPairs } from './headers.ts';
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
  let headers: HeaderPairs = checked.head.headers.map(([k, v]) => [k, v]);
  if (!filter) {
    res.writeHead(upstream.statusCode, flatten(headers));
    await pipe(upstream.body, res, onBytesOut);
    return { head: checked.report, body: null };
  }
  onFilter(filter);
  headers = withoutHeaders(headers, filter.outputEncoding === 'identity' ? ['content-length', 'content-encoding'] : ['content-length']);
  pipeline(upstream.body, filter.stream, () => undefined);
  const iterator = filter.stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  const annotations = filter.annotations?.() ?? {};
  if (Object.keys(annotations).length > 0) {
    headers = [...withoutHeaders(headers, Object.keys(annotations)), ...Object.entries(annotations).map(([k, v]): [string, string] => [k, String(v)])];
  }
  res.writeHead(upstream.statusCode, flatten(headers));
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
  return { head: checked.report, body: filter };
}

function pipe(source: Readable, res: ServerResponse, onBytes: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    pipeline(source, byteCounter(onBytes), res, (err) => (err ? reject(err) : resolve()));
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
