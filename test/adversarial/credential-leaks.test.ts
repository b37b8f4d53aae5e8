// Credential leaks (THREATS 2.6): the agent's own credentials never cross, the injected one goes only to its bound
// host and exactly once, and an upstream that echoes it back (headers, bodies, compressed, byte by byte, encoded,
// TRACE) never shows it to the agent. Bodies are decoded here before the G1 check, so compression cannot hide a leak.
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/sluice.ts';
import { checkInvariantsAndClose, dechunk, exchangeOn, findSecret, openTunnel, rawToSluice, startEnv, upstreamSaw, SECRET, SECRET_NAME, type Env, type TeeHandler } from './support.ts';

const PLACEHOLDER = `sluice:${SECRET_NAME}`;

/** The upstream that misbehaves: it reflects whatever credential it was given in the way the path asks. */
const reflecting: TeeHandler = (req, res) => {
  const auth = String(req.headers['authorization'] ?? '');
  const token = auth.replace(/^Bearer /, '');
  const url = req.url ?? '';
  const text = `you sent ${token} to ${url.split('?')[0]} -- keep it safe`;
  if (req.method === 'TRACE') {
    res.writeHead(200, { 'content-type': 'message/http' });
    res.end(`TRACE ${url} HTTP/1.1\r\n${req.rawHeaders.map((v, i) => (i % 2 === 0 ? `${v}: ` : `${v}\r\n`)).join('')}`);
    return;
  }
  if (url.startsWith('/echo-header')) {
    res.writeHead(200, { 'x-echo': auth, 'set-cookie': `session=${token}; Path=/`, 'www-authenticate': `Bearer realm="${token}"`, 'content-type': 'text/plain' });
    res.end('headers only');
  } else if (url.startsWith('/echo-bytes')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chars = [...text];
    const next = () => (chars.length ? res.write(chars.shift()!, () => setImmediate(next)) : res.end());
    next();
  } else if (url.startsWith('/echo-b64')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`b64=${Buffer.from(token).toString('base64')} hex=${Buffer.from(token).toString('hex')} url=${encodeURIComponent(token)}`);
  } else if (url.startsWith('/echo-json')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"token":"${[...token].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}","plain":${JSON.stringify(token)}}`);
  } else if (url.startsWith('/echo-key')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"${token}":"as an object key","ok":true}`);
  } else if (url.startsWith('/echo-badjson')) {
    // Declared JSON, but not JSON: a scanner that only walks string values never looks at this.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`not json at all: ${token} -- keep it safe`);
  } else if (/^\/echo-(gzip|deflate|br)/.test(url)) {
    const enc = /^\/echo-(gzip|deflate|br)/.exec(url)![1]!;
    const body = enc === 'gzip' ? zlib.gzipSync(text) : enc === 'deflate' ? zlib.deflateSync(text) : zlib.brotliCompressSync(Buffer.from(text));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': enc });
    res.end(body);
  } else if (url.startsWith('/echo-500')) {
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end(`<html><body><pre>Internal error while handling Authorization: ${auth}</pre></body></html>`);
  } else if (url.startsWith('/echo-location')) {
    res.writeHead(302, { location: `http://denied.test/collect?t=${token}` });
    res.end();
  } else if (url.startsWith('/redirect')) {
    res.writeHead(307, { location: `http://plain.allowed.test:${req.socket.localPort}/landing` });
    res.end();
  } else {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url, authorization: auth ? 'present' : 'absent', cookie: req.headers['cookie'] ?? null }));
  }
};

let env: Env;
let cred: string;
let plainHost: string;

beforeAll(async () => {
  env = await startEnv({ plainHandler: reflecting, secureHandler: reflecting });
  cred = `cred.allowed.test:${env.plain.port}`;
  plainHost = `plain.allowed.test:${env.plain.port}`;
});
afterAll(() => checkInvariantsAndClose(env));

/** Split a raw response into head and the decoded body (de-chunked, decompressed). */
function decode(raw: string): { head: string; body: string } {
  const i = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, i);
  let body = Buffer.from(raw.slice(i + 4), 'latin1');
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    body = dechunk(body);
  }
  const enc = /\r\ncontent-encoding:\s*(\S+)/i.exec(head)?.[1];
  if (enc === 'gzip') body = zlib.gunzipSync(body);
  if (enc === 'deflate') body = zlib.inflateSync(body);
  if (enc === 'br') body = zlib.brotliDecompressSync(body);
  return { head, body: body.toString('utf8') };
}

async function fetchVia(method: string, hostport: string, path: string, headers = '', body = ''): Promise<{ status: number; head: string; body: string }> {
  const cl = body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
  const r = await rawToSluice(env.s.port, `${method} http://${hostport}${path} HTTP/1.1\r\nHost: ${hostport}\r\n${headers}${cl}Connection: close\r\n\r\n${body}`, env.witness, { waitMs: 4000 });
  const d = decode(r.text);
  env.witness.add(d.body);
  return { status: r.statuses[0] ?? 0, ...d };
}

describe("the agent's own credentials never cross", () => {
  it('odd-cased, duplicated and empty Authorization headers become exactly one injected header', async () => {
    const r = await fetchVia('GET', cred, '/dup-auth', 'aUtHoRiZaTiOn: Bearer agent-1\r\nAUTHORIZATION: Bearer agent-2\r\nAuthorization:\r\nauthorization: Basic YWdlbnQ6cHc=\r\n');
    expect(r.status).toBe(200);
    const seen = upstreamSaw(env.plain, '/dup-auth')[0]!;
    const auths = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'authorization');
    expect(auths).toHaveLength(1);
    expect(seen.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(env.plain.rawText()).not.toMatch(/agent-1|agent-2|YWdlbnQ6cHc=/);
  });

  it('Cookie, Cookie2, Proxy-Authorization and X-Api-Key are stripped on a host without a credential too', async () => {
    const r = await fetchVia('GET', plainHost, '/strip', 'Cookie: sid=agent-cookie\r\nCOOKIE2: $Version=1\r\nProxy-Authorization: Basic cHJveHk6cHc=\r\nX-API-KEY: agent-key\r\nX-Keep: yes\r\n');
    expect(r.status).toBe(200);
    const seen = upstreamSaw(env.plain, '/strip')[0]!;
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const h of ['cookie', 'cookie2', 'proxy-authorization', 'x-api-key', 'authorization']) expect(names).not.toContain(h);
    expect(seen.headers['x-keep']).toBe('yes');
  });

  it('Proxy-Authorization sent inside an intercepted tunnel is not forwarded either', async () => {
    const t = await openTunnel(env.s, `other.allowed.test:${env.secure.port}`);
    const r = await exchangeOn(t, [`GET /tunnel-pa HTTP/1.1\r\nHost: other.allowed.test:${env.secure.port}\r\nProxy-Authorization: Basic dG9rZW46c2VjcmV0\r\nConnection: close\r\n\r\n`], env.witness);
    t.destroy();
    expect(r.statuses[0]).toBe(200);
    expect(upstreamSaw(env.secure, '/tunnel-pa')[0]!.headers['proxy-authorization']).toBeUndefined();
  });
});

describe('placeholders and known secrets go only to the bound host', () => {
  it.each([
    ['query string', `/ph?key=${PLACEHOLDER}`, ''],
    ['path', `/ph/${PLACEHOLDER}/x`, ''],
    ['header', '/ph-header', `X-Token: ${PLACEHOLDER}\r\n`],
    ['URL-encoded query', `/ph?key=${encodeURIComponent(PLACEHOLDER)}`, ''],
  ])('a placeholder in the %s to an unbound host is blocked before the upstream', async (_n, path, headers) => {
    const before = env.plain.seen.length;
    const r = await fetchVia('GET', plainHost, path, headers);
    expect(r.status).toBe(403);
    expect(r.body).toContain('sluice_guard_blocked');
    expect(env.plain.seen.length).toBe(before);
  });

  it('near miss: the same placeholder on the bound host is replaced, and the echo of the URL is redacted', async () => {
    const r = await fetchVia('GET', cred, `/ph-bound?key=${PLACEHOLDER}`);
    expect(r.status).toBe(200);
    expect(upstreamSaw(env.plain, '/ph-bound')[0]!.url).toContain(SECRET);
    expect(findSecret(r.body)).toBeNull();
    const line = await eventually(() => env.s.audit().find((l) => String(l['path']).startsWith('/ph-bound')));
    expect(line['path']).toBe('/ph-bound?key=[redacted]');
  });

  it.each([
    ['raw in the query', `/leak?t=${SECRET}`, ''],
    ['base64 in the path', `/leak/${Buffer.from(SECRET).toString('base64url')}`, ''],
    ['hex in a header', '/leak-h', `X-Data: ${Buffer.from(SECRET).toString('hex')}\r\n`],
  ])('the known secret value (%s) sent to another allowed host is blocked', async (_n, path, headers) => {
    const before = env.plain.seen.length;
    const r = await fetchVia('GET', plainHost, path, headers);
    expect(r.status).toBe(403);
    expect(env.plain.seen.length).toBe(before);
  });

  it('the known secret in a chunked body split across chunks to another host is blocked', async () => {
    const mid = 13;
    const bytes = `POST http://${plainHost}/leak-body HTTP/1.1\r\nHost: ${plainHost}\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n`;
    const c1 = `${(mid + 5).toString(16)}\r\ntok: ${SECRET.slice(0, mid)}\r\n`;
    const c2 = `${(SECRET.length - mid).toString(16)}\r\n${SECRET.slice(mid)}\r\n0\r\n\r\n`;
    const r = await rawToSluice(env.s.port, [bytes, c1, c2], env.witness, { gapMs: 30 });
    expect(r.statuses[0]).toBe(403);
    expect(upstreamSaw(env.plain, '/leak-body')).toEqual([]);
  });
});

describe('an upstream echoing the injected secret never shows it to the agent', () => {
  it.each([
    ['in response headers (x-echo, set-cookie, www-authenticate)', '/echo-header', 'headers only'],
    ['byte by byte, one write per character', '/echo-bytes', 'keep it safe'],
    ['as base64, hex and %XX', '/echo-b64', 'b64='],
    ['as JSON \\u escapes and a JSON string', '/echo-json', '"token"'],
    ['as a JSON object key', '/echo-key', 'as an object key'],
    ['in a body declared as JSON that is not JSON', '/echo-badjson', 'keep it safe'],
    ['gzip-compressed', '/echo-gzip', 'keep it safe'],
    ['deflate-compressed', '/echo-deflate', 'keep it safe'],
    ['brotli-compressed', '/echo-br', 'keep it safe'],
    ['in a 500 error page', '/echo-500', 'Internal error'],
  ])('%s', async (_n, path, visible) => {
    const r = await fetchVia('GET', cred, path);
    expect(r.status === 200 || r.status === 500).toBe(true);
    expect(findSecret(r.head), 'headers').toBeNull();
    expect(findSecret(r.body), 'body').toBeNull();
    expect(r.head + r.body, 'the response still carries its non-secret content').toContain(visible);
  });

  it('over an intercepted tunnel (HTTPS upstream), chunk by chunk', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const r = await exchangeOn(t, [`GET /echo-bytes HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness, { waitMs: 5000 });
    t.destroy();
    expect(r.statuses[0]).toBe(200);
    expect(findSecret(decode(r.text).body)).toBeNull();
    expect(upstreamSaw(env.secure, '/echo-bytes')[0]!.headers['authorization']).toBe(`Bearer ${SECRET}`);
  });

  it('TRACE reflecting the request head (cross-site tracing) is redacted or refused', async () => {
    const r = await fetchVia('TRACE', cred, '/trace');
    expect([200, 403, 405]).toContain(r.status);
    expect(findSecret(r.body)).toBeNull();
  });

  it('a redirect whose Location carries the secret to another host is redacted and not followed', async () => {
    const before = env.plain.seen.length;
    const r = await fetchVia('GET', cred, '/echo-location');
    expect(r.status).toBe(302);
    expect(findSecret(r.head)).toBeNull();
    expect(env.plain.seen.length - before).toBe(1);
  });

  it('a cross-host 307 is not followed; the agent follows it as a new request without the credential', async () => {
    const r = await fetchVia('POST', cred, '/redirect', 'Content-Type: text/plain\r\n', 'payload');
    expect(r.status).toBe(307);
    const followed = await fetchVia('POST', plainHost, '/landing', 'Content-Type: text/plain\r\n', 'payload');
    expect(followed.status).toBe(200);
    expect(upstreamSaw(env.plain, '/landing')[0]!.headers['authorization']).toBeUndefined();
  });
});
