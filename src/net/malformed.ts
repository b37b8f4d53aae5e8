import { http } from './node-http.ts';
import type { Duplex } from 'node:stream';
import { writeAudit, type Logger } from '../audit/index.ts';

/** Requests llhttp refused (bad framing, h2 preface, oversized headers): a JSON answer, an audit line, close. */
export function answerMalformed(log: Logger, err: NodeJS.ErrnoException, socket: Duplex, listener: string): void {
  const code = err.code ?? 'ERR';
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  writeAudit(log, {
    decision: 'error', agent: 'unknown', method: '', host: '', port: 0, path: '', status, bytesIn: 0, bytesOut: 0,
    durationMs: 0, credential: null, findings: [], reason: `malformed request refused (${code})`, listener,
  });
  if (socket.writable) {
    const body = JSON.stringify({ error: 'sluice_bad_request', message: 'Sluice could not parse this request as HTTP/1.1 and closed the connection.' });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
