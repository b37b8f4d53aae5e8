// Credentials end to end: the agent's own are stripped, the host's are injected from the secrets backend, a
// placeholder is replaced only on its bound host, and no secret value ever reaches the agent or the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { httpsViaProxy } from '../../helpers/clients.ts';

const GH = 'ghs_realGithubValue0123456789abcdefABCDEF';
const ANTHROPIC = 'sk-ant-api03-realvalue-0123456789abcdefghij';
const BASIC_PW = 'basic-password-0123456789';
const QUERY_KEY = 'querykey-0123456789abcdef';

describe('credentials', () => {
  let ca: ReturnType<typeof makeTestCa>;
  let up: TestUpstream;
  let echo: TestUpstream;
  let s: TestSluice;
  let secretsFile: string;

  beforeAll(async () => {
    ca = makeTestCa();
    const names = ['api.github.test', 'llm.test', 'basic.test', 'query.test', 'other.test', 'missing.test', 'echo.test'];
    up = await startUpstream({
      tls: ca.issue(names),
      handler: (req, res, body) => {
        if (req.url === '/redirect') {
          res.writeHead(302, { location: `https://other.test:${up.port}/landing` });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url, bodyLength: body.length }));
      },
    });
    echo = await startUpstream({
      tls: ca.issue(['echo.test']),
      handler: (req, res) => {
        const auth = String(req.headers['authorization'] ?? '');
        const gz = req.url?.includes('gzip');
        const payload = `your token was ${auth} -- thanks`;
        res.setHeader('x-echo', auth);
        if (gz) {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
          res.end(zlib.gzipSync(payload));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        // Split the token across two writes so a redactor must look across chunks.
        const cut = payload.indexOf(auth) + 10;
        res.write(payload.slice(0, cut));
        setTimeout(() => res.end(payload.slice(cut)), 50);
      },
    });
    const dirSeed = makeTestCa('secrets').dir;
    secretsFile = path.join(dirSeed, 'secrets.env');
    fs.writeFileSync(secretsFile, `GITHUB_TOKEN=${GH}\nANTHROPIC_API_KEY=${ANTHROPIC}\nBASIC_PW=${BASIC_PW}\nQUERY_KEY=${QUERY_KEY}\n`);
    s = await startTestSluice({
      names,
      trustCa: [ca.caPath],
      config: { secrets: [{ type: 'file', path: secretsFile }] },
      policy: {
        hosts: [
          { host: 'api.github.test', ports: [up.port], credential: { secret: 'GITHUB_TOKEN' } },
          { host: 'llm.test', ports: [up.port], credential: { secret: 'ANTHROPIC_API_KEY', header: 'x-api-key', format: '{secret}' } },
          { host: 'basic.test', ports: [up.port], credential: { secret: 'BASIC_PW', type: 'basic', username: 'robot' } },
          { host: 'query.test', ports: [up.port], credential: { secret: 'QUERY_KEY', type: 'query', query: 'key' } },
          { host: 'other.test', ports: [up.port] },
          { host: 'missing.test', ports: [up.port], credential: { secret: 'NOT_THERE' } },
          { host: 'echo.test', ports: [echo.port], credential: { secret: 'GITHUB_TOKEN' } },
        ],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
    await echo?.close();
  });

  const get = (host: string, p = '/', options: Parameters<typeof httpsViaProxy>[3] = {}) =>
    httpsViaProxy(s.proxyUrl, s.caPem, `https://${host}:${host === 'echo.test' ? echo.port : up.port}${p}`, options);

  it('bearer: the agent\'s Authorization (any case, duplicated) is replaced by exactly one injected header', async () => {
    const res = await get('api.github.test', '/user', { headers: { AUTHORIZATION: ['Bearer agent-own-1', 'Bearer agent-own-2'], 'x-api-key': 'agent-key' } });
    expect(res.status).toBe(200);
    const seen = up.seen.at(-1)!;
    const auths = seen.rawHeaders.filter((_, i) => i % 2 === 0 && seen.rawHeaders[i]!.toLowerCase() === 'authorization');
    expect(auths.length).toBe(1);
    expect(seen.headers['authorization']).toBe(`Bearer ${GH}`);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(res.text()).not.toContain(GH);
  });

  it('custom header with a raw value', async () => {
    await get('llm.test', '/v1/messages');
    expect(up.seen.at(-1)!.headers['x-api-key']).toBe(ANTHROPIC);
    expect(up.seen.at(-1)!.headers['authorization']).toBeUndefined();
  });

  it('basic auth: username plus the secret, base64-encoded', async () => {
    await get('basic.test', '/');
    const h = String(up.seen.at(-1)!.headers['authorization']);
    expect(Buffer.from(h.replace(/^Basic /, ''), 'base64').toString()).toBe(`robot:${BASIC_PW}`);
  });

  it('query parameter: the agent\'s own copy is replaced', async () => {
    await get('query.test', '/search?key=agent-guess&q=1');
    const url = up.seen.at(-1)!.url;
    expect(new URLSearchParams(url.split('?')[1]).getAll('key')).toEqual([QUERY_KEY]);
    expect(url).toContain('q=1');
  });

  it('placeholders are replaced on the bound host in header, query and JSON body', async () => {
    const body = JSON.stringify({ token: 'sluice:GITHUB_TOKEN', note: 'x' });
    const res = await get('api.github.test', '/p?t=sluice:GITHUB_TOKEN', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-token': 'token sluice:GITHUB_TOKEN' } });
    expect(res.status).toBe(200);
    const seen = up.seen.at(-1)!;
    expect(seen.headers['x-token']).toBe(`token ${GH}`);
    expect(seen.url).toContain(GH);
    expect(JSON.parse(seen.body.toString())).toEqual({ token: GH, note: 'x' });
  });

  it('a placeholder sent to a host it is not bound to is blocked (near miss: bound host above)', async () => {
    const before = up.seen.length;
    const res = await get('other.test', '/p', { method: 'POST', body: '{"t":"sluice:GITHUB_TOKEN"}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(403);
    expect(res.json()['error']).toBe('sluice_guard_blocked');
    expect(up.seen.length).toBe(before);
    const line = await eventually(() => s.audit().find((l) => l['host'] === 'other.test' && l['decision'] === 'block'));
    expect(JSON.stringify(line['findings'])).toContain('GITHUB_TOKEN');
  });

  it.each([
    ['raw', GH],
    ['base64', Buffer.from(GH).toString('base64')],
    ['hex', Buffer.from(GH).toString('hex')],
    ['url-encoded', encodeURIComponent(GH).replace(/_/g, '%5F')],
  ])('a known secret pasted into a body to another allowed host is blocked (%s)', async (_form, text) => {
    const before = up.seen.length;
    const res = await get('other.test', '/paste', { method: 'POST', body: `here it is: ${text}`, headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(403);
    expect(up.seen.length).toBe(before);
  });

  it('an upstream echoing the injected token never shows it to the agent (headers, split chunks, gzip)', async () => {
    const plain = await get('echo.test', '/echo');
    expect(plain.status).toBe(200);
    expect(plain.text()).not.toContain(GH);
    expect(String(plain.headers['x-echo'])).not.toContain(GH);
    expect(plain.text()).toContain('your token was');
    const gz = await get('echo.test', '/echo?gzip=1');
    const text = gz.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(gz.body).toString() : gz.text();
    expect(text).not.toContain(GH);
    expect(text).toContain('your token was');
  });

  it('a missing secret gives 503 for its host only; other hosts keep working', async () => {
    const res = await get('missing.test', '/');
    expect(res.status).toBe(503);
    expect(res.json()['error']).toBe('sluice_secret_unavailable');
    expect((await get('other.test', '/fine')).status).toBe(200);
  });

  it('redirects are never followed, so a 30x cannot carry the credential elsewhere', async () => {
    const before = up.seen.length;
    const res = await get('api.github.test', '/redirect');
    expect(res.status).toBe(302);
    expect(up.seen.length - before).toBe(1);
    // The agent follows it itself: a new request, decided and injected on its own (other.test has no credential).
    await get('other.test', '/landing');
    expect(up.seen.at(-1)!.url).toBe('/landing');
    expect(up.seen.at(-1)!.headers['authorization']).toBeUndefined();
  });

  it('rotation: a new value in the secrets file is used by the next request', async () => {
    const rotated = 'ghs_rotatedValue9876543210ZYXWVUTSRQPONM';
    fs.writeFileSync(secretsFile, fs.readFileSync(secretsFile, 'utf8').replace(GH, rotated));
    await eventually(async () => true);
    const res = await get('api.github.test', '/rot');
    expect(res.status).toBe(200);
    expect(up.seen.at(-1)!.headers['authorization']).toBe(`Bearer ${rotated}`);
    fs.writeFileSync(secretsFile, fs.readFileSync(secretsFile, 'utf8').replace(rotated, GH));
  });

  it('no secret value appears anywhere in the log', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const log = s.rawLog();
    for (const v of [GH, ANTHROPIC, BASIC_PW, QUERY_KEY, Buffer.from(`robot:${BASIC_PW}`).toString('base64')]) expect(log).not.toContain(v);
    expect(s.audit().some((l) => l['credential'] === 'GITHUB_TOKEN')).toBe(true);
  });
});
