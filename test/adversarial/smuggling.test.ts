// Request smuggling and framing (THREATS 2.5): every ambiguous message is refused with 400 and the connection
// closed, or Sluice re-frames it so that the upstream sees exactly one well-formed request. A "/smuggled" request
// must never reach any upstream, and no trailer, chunk extension or second framing header may cross.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/sluice.ts';
import { checkInvariants, exchangeOn, expectWellFramed, openTunnel, rawToSluice, startEnv, upstreamSaw, SECRET, type Env } from './support.ts';

let env: Env;
let host: string;

beforeAll(async () => {
  env = await startEnv();
  host = `plain.allowed.test:${env.plain.port}`;
});
afterAll(async () => {
  try {
    await checkInvariants(env);
    expect(upstreamSaw(env.plain, '/smuggled')).toEqual([]);
    expect(upstreamSaw(env.secure, '/smuggled')).toEqual([]);
  } finally {
    await env?.close();
  }
});

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: plain.allowed.test\r\n\r\n';

/** A request line + headers for `marker` on the plain upstream, with `headers` written verbatim. */
const req = (marker: string, headers: string, body = '', method = 'POST', version = 'HTTP/1.1') =>
  `${method} http://${host}/${marker} ${version}\r\nHost: ${host}\r\n${headers}\r\n${body}`;

async function expectRefused(marker: string, bytes: string): Promise<void> {
  const r = await rawToSluice(env.s.port, bytes, env.witness, { responses: 2, waitMs: 1500 });
  expect(r.statuses[0], r.text.slice(0, 200)).toBe(400);
  expect(r.statuses.length, 'nothing answered after the refusal').toBe(1);
  expect(r.closed, 'the connection is closed after ambiguous framing').toBe(true);
  expect(upstreamSaw(env.plain, marker)).toEqual([]);
}

describe('ambiguous framing is refused with 400 and close', () => {
  it.each([
    ['CL.TE', 'cl-te', 'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${SMUGGLED}`],
    ['TE.CL', 'te-cl', 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', `5c\r\n${SMUGGLED}\r\n0\r\n\r\n`],
    ['TE.TE: obfuscated value xchunked', 'te-x', 'Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['TE.TE: space before colon', 'te-sp', 'Content-Length: 4\r\nTransfer-Encoding : chunked\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['TE.TE: duplicate TE (chunked, identity)', 'te-dup', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['TE.TE: "chunked, identity" (chunked not final)', 'te-list', 'Transfer-Encoding: chunked, identity\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['TE.TE: vertical tab before value', 'te-vt', 'Content-Length: 4\r\nTransfer-Encoding:\u000bchunked\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['TE.TE: TE with CL written in odd case', 'te-case', 'cOnTeNt-LeNgTh: 4\r\ntRaNsFeR-eNcOdInG: chunked\r\n', `1\r\nZ\r\n0\r\n\r\n`],
    ['duplicate Content-Length with different values', 'dup-cl', 'Content-Length: 5\r\nContent-Length: 40\r\n', `hello${SMUGGLED}`],
    ['Content-Length with a sign', 'cl-sign', 'Content-Length: +5\r\n', 'hello'],
    ['space before colon in Content-Length (CVE-2024-27982)', 'cl-space', 'Content-Length : 5\r\n', 'hello'],
    ['obs-fold header continuation', 'obs-fold', 'X-Folded: a\r\n  b\r\nContent-Length: 0\r\n', ''],
    ['NUL in a header value (Envoy CVE-2019-9900)', 'nul', 'X-A: a\u0000b\r\nContent-Length: 0\r\n', ''],
    ['bare CR inside a header value (CVE-2023-30589)', 'bare-cr', 'X-A: a\rb\r\nContent-Length: 0\r\n', ''],
    ['chunk size in hex prefix 0x', 'chunk-0x', 'Transfer-Encoding: chunked\r\n', `0x5\r\nhello\r\n0\r\n\r\n`],
    ['negative chunk size', 'chunk-neg', 'Transfer-Encoding: chunked\r\n', `-5\r\nhello\r\n0\r\n\r\n`],
    ['overflowing chunk size', 'chunk-big', 'Transfer-Encoding: chunked\r\n', `fffffffffffffffff\r\nhello\r\n0\r\n\r\n`],
    ['chunk data longer than its size', 'chunk-long', 'Transfer-Encoding: chunked\r\n', `3\r\nhello\r\n0\r\n\r\n`],
    ['HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1: faulty framing)', 'h10-te', 'Transfer-Encoding: chunked\r\n', `5\r\nhello\r\n0\r\n\r\n`],
  ])('%s', async (_name, marker, headers, body) => {
    const version = marker === 'h10-te' ? 'HTTP/1.0' : 'HTTP/1.1';
    await expectRefused(marker, req(marker, headers, body, 'POST', version));
  });

  it.each([
    ['bare LF line endings in the head', 'bare-lf', `GET http://HOST/bare-lf HTTP/1.1\nHost: HOST\n\n`],
    ['"\\r\\n\\rX" after the head (CVE-2025-23167)', 'crcrx', `GET http://HOST/crcrx HTTP/1.1\r\nHost: HOST\r\n\rX\r\n\r\n`],
    ['bare LF after a chunk size', 'chunk-lf', `POST http://HOST/chunk-lf HTTP/1.1\r\nHost: HOST\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`],
  ])('%s', async (_name, marker, template) => {
    await expectRefused(marker, template.replaceAll('HOST', host));
  });
});

describe('well-formed framing is re-serialised (near misses)', () => {
  async function expectReframed(marker: string, bytes: string, expectedBody: string): Promise<void> {
    const r = await rawToSluice(env.s.port, bytes, env.witness, { responses: 1 });
    expect(r.statuses[0], r.text.slice(0, 200)).toBe(200);
    const got = upstreamSaw(env.plain, marker);
    expect(got.length).toBe(1);
    expect(got[0]!.body.toString('latin1')).toBe(expectedBody);
    expectWellFramed(env.plain, got);
  }

  it('a plain chunked POST arrives with the same body, framed once', async () => {
    await expectReframed('chunked-ok', req('chunked-ok', 'Transfer-Encoding: chunked\r\n', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'), 'hello world');
  });

  it('Transfer-Encoding "Chunked" in another case is still chunked (RFC 9112 tokens are case-insensitive)', async () => {
    await expectReframed('chunked-case', req('chunked-case', 'Transfer-Encoding: Chunked\r\n', '3\r\nabc\r\n0\r\n\r\n'), 'abc');
  });

  it('chunk extensions are dropped, never forwarded (CVE-2024-22019 class)', async () => {
    await expectReframed('chunk-ext', req('chunk-ext', 'Transfer-Encoding: chunked\r\n', '5;name=value\r\nhello\r\n0;x=y\r\n\r\n'), 'hello');
    expect(env.plain.rawText()).not.toContain('name=value');
  });

  it('a GET with a body that looks like a second request stays one request (CL.0 style)', async () => {
    const bytes = `GET http://${host}/cl0 HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    const r = await rawToSluice(env.s.port, bytes, env.witness, { responses: 2, waitMs: 1500 });
    expect(r.statuses).toEqual([200]);
    expect(upstreamSaw(env.plain, '/cl0').length).toBe(1);
  });

  it('trailers are never forwarded, and an Authorization trailer cannot ride along to a credentialed host', async () => {
    const cred = `cred.allowed.test:${env.plain.port}`;
    const bytes = `POST http://${cred}/trailer HTTP/1.1\r\nHost: ${cred}\r\nTransfer-Encoding: chunked\r\nTrailer: Authorization, X-Trailer\r\n\r\n5\r\nhello\r\n0\r\nAuthorization: Bearer agent-trailer\r\nX-Trailer: smuggled\r\n\r\n`;
    const r = await rawToSluice(env.s.port, bytes, env.witness);
    expect(r.statuses[0]).toBe(200);
    const got = upstreamSaw(env.plain, '/trailer');
    expect(got.length).toBe(1);
    expectWellFramed(env.plain, got);
    const auths = got[0]!.rawHeaders.filter((_, i) => i % 2 === 0 && got[0]!.rawHeaders[i]!.toLowerCase() === 'authorization');
    expect(auths.length).toBe(1);
    expect(got[0]!.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(env.plain.rawText()).not.toContain('agent-trailer');
  });

  it('HTTP/1.0 keep-alive: two requests on one connection, each decided and forwarded on its own', async () => {
    const one = `GET http://${host}/h10-a HTTP/1.0\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`;
    const two = `GET http://denied.test:${env.plain.port}/h10-b HTTP/1.0\r\nHost: denied.test\r\nConnection: keep-alive\r\n\r\n`;
    const r = await rawToSluice(env.s.port, one + two, env.witness, { responses: 2, waitMs: 2000 });
    expect(r.statuses[0]).toBe(200);
    // Either Sluice closes after the 1.0 response (then the second is never read) or it denies it: never forwards it.
    if (r.statuses.length > 1) expect(r.statuses[1]).toBe(403);
    expect(upstreamSaw(env.plain, '/h10-a').length).toBe(1);
    expect(upstreamSaw(env.plain, '/h10-b')).toEqual([]);
  });
});

describe('pipelining: every request is decided on its own', () => {
  it('plain proxy: an allowed request and a denied one in the same TCP segment', async () => {
    const a = `GET http://${host}/pipe-a HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const b = `GET http://denied.test:${env.plain.port}/pipe-b HTTP/1.1\r\nHost: denied.test:${env.plain.port}\r\nConnection: close\r\n\r\n`;
    const r = await rawToSluice(env.s.port, a + b, env.witness, { responses: 2 });
    expect(r.statuses).toEqual([200, 403]);
    expect(upstreamSaw(env.plain, '/pipe-a').length).toBe(1);
    expect(upstreamSaw(env.plain, '/pipe-b')).toEqual([]);
  });

  it('inside a tunnel: the second pipelined request names another host and is refused; the first is served', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const a = `GET /tun-a HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\n\r\n`;
    const b = `GET /tun-b HTTP/1.1\r\nHost: other.allowed.test:${env.secure.port}\r\n\r\n`;
    const c = `GET /tun-c HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`;
    const r = await exchangeOn(t, [a + b + c], env.witness, { responses: 3 });
    t.destroy();
    expect(r.statuses[0]).toBe(200);
    expect(r.statuses[1]).toBe(403);
    expect(upstreamSaw(env.secure, '/tun-b')).toEqual([]);
    expect(upstreamSaw(env.secure, '/tun-a').length).toBe(1);
    // The credential went only with requests for its bound host.
    for (const seen of env.secure.seen) expect(seen.headers['host']).toMatch(/^api\.allowed\.test|^other\.allowed\.test/);
  });

  it('inside a tunnel: CL.TE is refused just like on the listener', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const bytes = `POST /tun-clte HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: api.allowed.test\r\n\r\n`;
    const r = await exchangeOn(t, [bytes], env.witness, { responses: 2, waitMs: 1500 });
    t.destroy();
    expect(r.statuses[0]).toBe(400);
    expect(r.statuses.length).toBe(1);
    expect(upstreamSaw(env.secure, '/tun-clte')).toEqual([]);
  });

  it('every refused framing attack left an audit line (nothing silently dropped)', async () => {
    await eventually(() => env.s.audit().filter((l) => l['status'] === 400).length >= 20);
  });
});
