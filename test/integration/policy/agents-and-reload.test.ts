// Agent identity and live reload through the running proxy: 407 paths, agent-bound unix sockets, per-agent
// entries, and policy edits while requests run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { viaProxy, rawExchange } from '../../helpers/clients.ts';

const BUILDER_TOKEN = 'builder-token-0123456789abcdef';
const READER_TOKEN = 'reader-token-0123456789abcdefgh';

describe('agents', () => {
  let up: TestUpstream;
  let s: TestSluice;
  let boundSocket: string;

  beforeAll(async () => {
    up = await startUpstream();
    s = await startTestSluice({
      names: ['build.test', 'read.test'],
      policy: {
        hosts: [
          { host: 'build.test', ports: [up.port], agents: ['builder'] },
          { host: 'read.test', ports: [up.port] },
        ],
      },
      config: { agents: [{ id: 'builder', token: BUILDER_TOKEN }, { id: 'reader', token: READER_TOKEN }] },
    });
    // A second Sluice whose unix socket is bound to the builder: no token needed on it.
    boundSocket = path.join(s.dir, 'builder.sock');
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  const basic = (token: string) => `Basic ${Buffer.from(`x:${token}`).toString('base64')}`;

  it('407 with Proxy-Authenticate when the token is missing or wrong, never 403', async () => {
    const missing = await viaProxy(s.port, 'GET', `http://read.test:${up.port}/`);
    expect(missing.status).toBe(407);
    expect(missing.headers['proxy-authenticate']).toContain('Basic');
    expect(missing.json()['error']).toBe('sluice_auth_required');
    const wrong = await viaProxy(s.port, 'GET', `http://read.test:${up.port}/`, { headers: { 'proxy-authorization': basic('wrong-token-0123456789') } });
    expect(wrong.status).toBe(407);
    const connect = await rawExchange(s.port, `CONNECT read.test:443 HTTP/1.1\r\nHost: read.test:443\r\n\r\n`);
    expect(connect.status).toBe(407);
    connect.socket.destroy();
  });

  it('Basic and Bearer tokens identify the agent; entries restricted to an agent deny the others', async () => {
    expect((await viaProxy(s.port, 'GET', `http://read.test:${up.port}/`, { headers: { 'proxy-authorization': basic(READER_TOKEN) } })).status).toBe(200);
    expect((await viaProxy(s.port, 'GET', `http://build.test:${up.port}/`, { headers: { 'proxy-authorization': `Bearer ${BUILDER_TOKEN}` } })).status).toBe(200);
    const other = await viaProxy(s.port, 'GET', `http://build.test:${up.port}/`, { headers: { 'proxy-authorization': basic(READER_TOKEN) } });
    expect(other.status).toBe(403);
    const line = await eventually(() => s.audit().find((l) => l['agent'] === 'reader' && l['host'] === 'build.test'));
    expect(line['decision']).toBe('deny');
    expect(s.rawLog()).not.toContain(BUILDER_TOKEN);
    expect(s.rawLog()).not.toContain(READER_TOKEN);
    expect(up.seen.every((r) => r.headers['proxy-authorization'] === undefined)).toBe(true);
  });

  it('an agent-bound unix socket needs no token and acts as that agent', async () => {
    const s2 = await startTestSluice({
      names: ['build.test'],
      policy: { hosts: [{ host: 'build.test', ports: [up.port], agents: ['builder'] }] },
      config: { listen: ['127.0.0.1:0', `unix:${boundSocket}#agent=builder`], agents: [{ id: 'builder', token: BUILDER_TOKEN }] },
    });
    try {
      const viaSocket = await rawExchange(0, `GET http://build.test:${up.port}/bound HTTP/1.1\r\nHost: build.test:${up.port}\r\nConnection: close\r\n\r\n`, { path: boundSocket });
      expect(viaSocket.status).toBe(200);
      const viaTcpWithoutToken = await viaProxy(s2.port, 'GET', `http://build.test:${up.port}/`);
      expect(viaTcpWithoutToken.status).toBe(407);
      await eventually(() => s2.audit().find((l) => l['agent'] === 'builder' && l['path'] === '/bound'));
    } finally {
      await s2.close();
    }
  });
});

describe('live reload under traffic', () => {
  it('edits, atomic renames and a corrupt write while requests run: no request fails, the corrupt edit changes nothing', async () => {
    const up = await startUpstream();
    const s = await startTestSluice({ names: ['a.test', 'b.test'], policy: { hosts: [{ host: 'a.test', ports: [up.port] }] } });
    const file = path.join(s.policyDir, 'test.yaml');
    const write = (hosts: string[]) => YAML.stringify({ hosts: hosts.map((host) => ({ host, ports: [up.port] })) });
    let running = true;
    const failures: number[] = [];
    const loop = (async () => {
      let n = 0;
      while (running && n < 2000) {
        const r = await viaProxy(s.port, 'GET', `http://a.test:${up.port}/${n++}`);
        if (r.status !== 200) failures.push(r.status);
      }
    })();
    try {
      fs.writeFileSync(file, write(['a.test', 'b.test']));
      for (let i = 0; i < 30; i++) {
        if ((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/`)).status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/`)).status).toBe(200);
      // Atomic rename (how editors and config management write files).
      fs.writeFileSync(`${file}.tmp`, write(['a.test']));
      fs.renameSync(`${file}.tmp`, file);
      for (let i = 0; i < 30; i++) {
        if ((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/`)).status === 403) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await viaProxy(s.port, 'GET', `http://b.test:${up.port}/`)).status).toBe(403);
      // A corrupt write (truncated mid-line): refused, the last good policy keeps serving.
      fs.writeFileSync(file, `hosts:\n  - host: a.test\n    ports: [${up.port}`);
      await new Promise((r) => setTimeout(r, 2500));
      expect(s.sluice.policy.status().ok).toBe(false);
      expect((await viaProxy(s.port, 'GET', `http://a.test:${up.port}/after-corrupt`)).status).toBe(200);
      expect(s.lines().some((l) => String(l['msg']).includes('policy') && l['level'] !== 'info')).toBe(true);
    } finally {
      running = false;
      await loop;
      await s.close();
      await up.close();
    }
    expect(failures).toEqual([]);
  });
});
