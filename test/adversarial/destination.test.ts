// Destination confusion (THREATS 2.1-2.4): one parse, one decision, one dial. Every spelling of a destination is
// either refused (400/403) or canonicalised to the very value that was decided; the upstream never sees a request
// that policy did not allow, and loopback, metadata and Sluice itself are unreachable without an exact exemption.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRequest, rawExchange } from '../helpers/clients.ts';
import { startTestSluice, eventually, type TestSluice } from '../helpers/sluice.ts';
import { checkInvariants, exchangeOn, openTunnel, rawToSluice, startEnv, upstreamSaw, type Env } from './support.ts';

let env: Env;
let strict: TestSluice;
let selfPort: number;

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  selfPort = await freePort();
  env = await startEnv({
    names: ['self.allowed.test', 'meta.allowed.test', 'cgnat.allowed.test'],
    resolve: { 'meta.allowed.test': '169.254.169.254', 'cgnat.allowed.test': '100.64.0.1' },
    config: { listen: [`127.0.0.1:${selfPort}`] },
    hosts: (p) => [
      { host: '127.0.0.1', ports: [p.plain] },
      { host: 'self.allowed.test', ports: [selfPort] },
      { host: 'meta.allowed.test', ports: [p.plain] },
      { host: 'cgnat.allowed.test', ports: [p.plain] },
    ],
  });
  // A second Sluice without the test exemption for 127.0.0.0/8: the production default.
  strict = await startTestSluice({
    allowPrivate: [],
    config: {
      upstream: {
        resolve: { 'loop.allowed.test': '127.0.0.1', 'v6loop.allowed.test': '::1', 'mapped.allowed.test': '::ffff:127.0.0.1', 'zero.allowed.test': '0.0.0.0', 'meta.allowed.test': '169.254.169.254', 'ula.allowed.test': 'fd00::1', 'nat64.allowed.test': '64:ff9b::7f00:1' },
        trustCa: [],
        allowPrivate: [],
      },
    },
    policy: {
      // No IP-literal entries: naming an IP in the policy is itself an exact exemption (compile-entry.ts).
      hosts: ['loop', 'v6loop', 'mapped', 'zero', 'meta', 'ula', 'nat64'].map((n) => ({ host: `${n}.allowed.test`, ports: [env.plain.port] })),
    },
  });
});
afterAll(async () => {
  try {
    await checkInvariants(env);
  } finally {
    await strict?.close();
    await env?.close();
  }
});

const get = (port: number, target: string, hostHeader: string, extra = '') =>
  rawToSluice(port, `GET ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\n${extra}Connection: close\r\n\r\n`, env.witness);

describe('absolute-form: the URI wins over Host', () => {
  it('an allowed URI with a denied Host header reaches the URI host with Host rewritten', async () => {
    const r = await get(env.s.port, `http://plain.allowed.test:${env.plain.port}/uri-wins`, `denied.test:${env.plain.port}`);
    expect(r.statuses[0]).toBe(200);
    expect(upstreamSaw(env.plain, '/uri-wins')[0]!.headers['host']).toBe(`plain.allowed.test:${env.plain.port}`);
  });

  it('a denied URI with an allowed Host header is denied (near miss above)', async () => {
    const r = await get(env.s.port, `http://denied.test:${env.plain.port}/host-lies`, `plain.allowed.test:${env.plain.port}`);
    expect(r.statuses[0]).toBe(403);
    expect(upstreamSaw(env.plain, '/host-lies')).toEqual([]);
  });

  it('two Host headers are refused', async () => {
    const r = await get(env.s.port, `http://plain.allowed.test:${env.plain.port}/two-hosts`, `plain.allowed.test:${env.plain.port}`, `Host: denied.test\r\n`);
    expect(r.statuses[0]).toBe(400);
    expect(upstreamSaw(env.plain, '/two-hosts')).toEqual([]);
  });
});

describe('URL parser differentials are 400', () => {
  it.each([
    ['userinfo allowed@evil', (p: number) => `http://plain.allowed.test@denied.test:${p}/ui1`],
    ['userinfo evil@allowed', (p: number) => `http://denied.test@plain.allowed.test:${p}/ui2`],
    ['encoded slash before @ (Orange Tsai)', (p: number) => `http://plain.allowed.test%2f@denied.test:${p}/ui3`],
    ['backslash authority', (p: number) => `http://plain.allowed.test:${p}\\@denied.test/ui4`],
    ['fragment before authority end', (p: number) => `http://denied.test:${p}#@plain.allowed.test/ui5`],
    ['percent-encoded host', (p: number) => `http://plain%2eallowed.test:${p}/ui6`],
    ['double trailing dot', (p: number) => `http://plain.allowed.test..:${p}/ui7`],
    ['NUL in host', (p: number) => `http://denied.test%00.plain.allowed.test:${p}/ui8`],
    ['IDN homograph (Cyrillic a) as raw UTF-8', (p: number) => `http://pl\u0430in.allowed.test:${p}/ui9`],
    ['port with sign', () => `http://plain.allowed.test:+80/ui10`],
  ])('%s', async (_name, target) => {
    const t = target(env.plain.port);
    const r = await rawToSluice(env.s.port, [Buffer.from(`GET ${t} HTTP/1.1\r\nHost: plain.allowed.test\r\nConnection: close\r\n\r\n`, 'utf8')], env.witness);
    expect(r.statuses[0], r.text.slice(0, 160)).toBe(400);
    expect(env.plain.seen.filter((s) => /\/ui\d+/.test(s.url))).toEqual([]);
  });

  it('a punycode homograph is just another name: denied unless the policy names it', async () => {
    const r = await get(env.s.port, `http://xn--plin-63d.allowed.test:${env.plain.port}/puny`, 'x');
    expect(r.statuses[0]).toBe(403);
  });

  it.each([
    ['mixed case', 'PLAIN.Allowed.TEST'],
    ['one trailing dot', 'plain.allowed.test.'],
  ])('near miss: %s is canonicalised to the allowed name and Host is sent canonical', async (_n, spelled) => {
    const marker = `/canon-${spelled.length}`;
    const r = await get(env.s.port, `http://${spelled}:${env.plain.port}${marker}`, spelled);
    expect(r.statuses[0]).toBe(200);
    expect(upstreamSaw(env.plain, marker)[0]!.headers['host']).toBe(`plain.allowed.test:${env.plain.port}`);
  });
});

describe('IP spellings decide on the canonical address', () => {
  const spellings = ['2130706433', '0177.0.0.1', '0x7f.0.0.1', '0x7f000001', '127.1', '017700000001', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:7f00:1]'];

  it('near miss: the policy entry 127.0.0.1 allows the dotted-decimal literal', async () => {
    const r = await get(env.s.port, `http://127.0.0.1:${env.plain.port}/ip-ok`, `127.0.0.1:${env.plain.port}`);
    expect(r.statuses[0]).toBe(200);
  });

  it.each(spellings)('%s is either refused or decided and logged as 127.0.0.1 (never a second parse)', async (spelled) => {
    const marker = `/ip-${Buffer.from(spelled).toString('hex')}`;
    const r = await get(env.s.port, `http://${spelled}:${env.plain.port}${marker}`, `${spelled}:${env.plain.port}`);
    expect([200, 400]).toContain(r.statuses[0]);
    if (r.statuses[0] === 200) {
      const line = await eventually(() => env.s.audit().find((l) => String(l['path']).startsWith(marker)));
      expect(line['host']).toBe('127.0.0.1');
      expect(upstreamSaw(env.plain, marker)[0]!.headers['host']).toBe(`127.0.0.1:${env.plain.port}`);
    }
  });

  it.each([...spellings, '127.0.0.1', '[::1]', '[::]', '0.0.0.0', '0', '[::ffff:169.254.169.254]', '169.254.169.254'])(
    'strict Sluice (no allowPrivate): %s is refused before any connection',
    async (spelled) => {
      const before = env.plain.seen.length;
      const r = await get(strict.port, `http://${spelled}:${env.plain.port}/strict-ip`, `${spelled}:${env.plain.port}`);
      expect([400, 403]).toContain(r.statuses[0]);
      expect(env.plain.seen.length).toBe(before);
    },
  );

  it.each(['loop', 'v6loop', 'mapped', 'zero', 'meta', 'ula', 'nat64'])('strict Sluice: a name resolving to a %s address is 403 before connect', async (n) => {
    const before = env.plain.seen.length;
    const r = await get(strict.port, `http://${n}.allowed.test:${env.plain.port}/strict-name`, `${n}.allowed.test:${env.plain.port}`);
    expect(r.statuses[0]).toBe(403);
    expect(r.text).toContain('sluice_policy_denied');
    expect(env.plain.seen.length).toBe(before);
  });

  it.each([
    ['metadata', 'meta.allowed.test'],
    ['CGNAT 100.64.0.1', 'cgnat.allowed.test'],
  ])('even with 127/8 exempt, an allowed name resolving to %s is 403', async (_n, name) => {
    const r = await get(env.s.port, `http://${name}:${env.plain.port}/private`, name);
    expect(r.statuses[0]).toBe(403);
  });
});

describe("Sluice's own listener is not a destination", () => {
  it('an allowed name resolving to Sluice itself is refused (self), not looped', async () => {
    const r = await get(env.s.port, `http://self.allowed.test:${selfPort}/self`, 'self.allowed.test');
    expect([400, 403]).toContain(r.statuses[0]);
    const line = await eventually(() => env.s.audit().find((l) => l['host'] === 'self.allowed.test'));
    expect(['deny', 'error']).toContain(line['decision']);
  });

  it('CONNECT to Sluice itself through an allowed name does not open a tunnel into the proxy', async () => {
    const c = await rawExchange(env.s.port, connectRequest(`self.allowed.test:${selfPort}`));
    env.witness.add(c.head);
    c.socket.destroy();
    // Inspect mode answers 200 and refuses each inner request; what matters is that no request reached Sluice twice.
    expect([200, 403]).toContain(c.status);
  });
});

describe('CONNECT authority, ports and SNI', () => {
  it.each([
    ['a port with a sign', 'api.allowed.test:+443'],
    ['a port with a leading zero', 'api.allowed.test:0443'],
    ['a port that wraps at 16 bits to 443', 'api.allowed.test:65979'],
    ['an empty port', 'api.allowed.test:'],
    ['an unbracketed IPv6 literal', '::1:443'],
    ['two ports', 'api.allowed.test:443:443'],
    ['a percent-encoded host', 'api%2eallowed.test:443'],
  ])('refuses %s with 400 (or 403), and mints nothing', async (_n, authority) => {
    const c = await rawExchange(env.s.port, connectRequest(authority));
    env.witness.add(c.head);
    c.socket.destroy();
    expect([400, 403]).toContain(c.status);
  });

  it.each([22, 25])('an allowed host on port %i is 403 for CONNECT and for plain HTTP', async (port) => {
    const c = await rawExchange(env.s.port, connectRequest(`api.allowed.test:${port}`));
    c.socket.destroy();
    expect(c.status).toBe(403);
    const r = await get(env.s.port, `http://plain.allowed.test:${port}/port`, 'plain.allowed.test');
    expect(r.statuses[0]).toBe(403);
  });

  it('a CONNECT written in upper case is the same host (near miss): the tunnel serves it', async () => {
    const t = await openTunnel(env.s, `API.Allowed.TEST:${env.secure.port}`, 'api.allowed.test');
    const r = await exchangeOn(t, [`GET /upper HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness);
    expect(r.statuses[0]).toBe(200);
  });

  it('no SNI at all, then a Host for another host inside the tunnel: 403', async () => {
    const c = await rawExchange(env.s.port, connectRequest(`api.allowed.test:${env.secure.port}`));
    const tls = await import('node:tls');
    const t = await new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: c.socket, ca: env.s.caPem, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
      s.once('error', reject);
    });
    const r = await exchangeOn(t, [`GET /nosni HTTP/1.1\r\nHost: other.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness);
    t.destroy();
    expect(r.statuses[0]).toBe(403);
    expect(upstreamSaw(env.secure, '/nosni')).toEqual([]);
  });

  it('an absolute-form URI inside a tunnel naming another host is refused', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const r = await exchangeOn(t, [`GET https://other.allowed.test:${env.secure.port}/abs-front HTTP/1.1\r\nHost: api.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness);
    t.destroy();
    expect(r.statuses[0]).toBe(403);
    expect(upstreamSaw(env.secure, '/abs-front')).toEqual([]);
  });

  it('a Host with userinfo inside a tunnel is 400', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const r = await exchangeOn(t, [`GET /ui-tunnel HTTP/1.1\r\nHost: other.allowed.test@api.allowed.test:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness);
    t.destroy();
    expect(r.statuses[0]).toBe(400);
  });

  it('near miss: the Host spelled with a trailing dot and upper case inside the tunnel is the same host', async () => {
    const t = await openTunnel(env.s, `api.allowed.test:${env.secure.port}`);
    const r = await exchangeOn(t, [`GET /host-dot HTTP/1.1\r\nHost: API.allowed.test.:${env.secure.port}\r\nConnection: close\r\n\r\n`], env.witness);
    t.destroy();
    expect(r.statuses[0]).toBe(200);
  });

  it('CONNECT to a homograph of an allowed host is denied', async () => {
    const c = await rawExchange(env.s.port, Buffer.from(connectRequest(`\u0430pi.allowed.test:${env.secure.port}`), 'utf8'));
    c.socket.destroy();
    expect([400, 403]).toContain(c.status);
  });
});
