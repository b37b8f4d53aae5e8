// The clients agents really use, through the real Sluice: curl (TCP and unix socket), Node fetch with
// EnvHttpProxyAgent and NODE_USE_ENV_PROXY, Python requests, and git clone over HTTPS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, type TestSluice } from '../../helpers/sluice.ts';
import { startGitServer, type GitServer } from '../../helpers/git-server.ts';
import { startBridge } from '../../../src/net/bridge.ts';

const run = promisify(execFile);
const nodeBin = path.resolve('node_modules/.bin/node');

describe('real clients through Sluice', () => {
  let api: TestUpstream;
  let gitServer: GitServer;
  let s: TestSluice;
  let url: string;

  beforeAll(async () => {
    const ca = makeTestCa();
    api = await startUpstream({ tls: ca.issue(['api.allowed.test']) });
    gitServer = await startGitServer(ca.issue(['git.allowed.test']));
    s = await startTestSluice({
      names: ['api.allowed.test', 'git.allowed.test', 'denied.test'],
      trustCa: [ca.caPath],
      unixSocket: true,
      policy: { hosts: [{ host: 'api.allowed.test', ports: [api.port] }, { host: 'git.allowed.test', ports: [gitServer.port] }] },
    });
    url = `https://api.allowed.test:${api.port}/client`;
  });
  afterAll(async () => {
    await s?.close();
    await api?.close();
    await gitServer?.close();
  });

  it('curl over TCP: allowed host works, denied host gets the contract 403', async () => {
    const ok = await run('curl', ['-sS', '-x', s.proxyUrl, '--cacert', s.caPath, url]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ method: 'GET', url: '/client' });
    // curl reports the CONNECT answer as http_connect (the tunnel was never opened).
    const denied = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_connect}', '-x', s.proxyUrl, '--cacert', s.caPath, `https://denied.test:${api.port}/`]).catch((e: { stdout: string }) => e);
    expect(denied.stdout).toBe('403');
  });

  it('curl through the unix socket via sluice bridge (the --network none container setup)', async () => {
    const st = fs.statSync(s.socketPath!);
    expect(st.mode & 0o777).toBe(0o660);
    const bridge = await startBridge({ listen: '127.0.0.1:0', socket: s.socketPath! });
    try {
      const ok = await run('curl', ['-sS', '-x', `http://${bridge.address}`, '--cacert', s.caPath, url]);
      expect(JSON.parse(ok.stdout)).toMatchObject({ url: '/client' });
    } finally {
      await bridge.close();
    }
  });

  it('Node fetch with undici EnvHttpProxyAgent', async () => {
    const saved = { ...process.env };
    process.env['HTTPS_PROXY'] = s.proxyUrl;
    process.env['NO_PROXY'] = '';
    try {
      const dispatcher = new EnvHttpProxyAgent({ requestTls: { ca: s.caPem }, proxyTls: {} } as never);
      const res = await undiciFetch(url, { dispatcher });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { url: string }).url).toBe('/client');
      await dispatcher.close();
    } finally {
      process.env = saved;
    }
  });

  it('Node 24 global fetch with NODE_USE_ENV_PROXY=1 and NODE_EXTRA_CA_CERTS', async () => {
    const script = `const r = await fetch(${JSON.stringify(url)}); console.log(r.status, (await r.json()).url);`;
    const out = await run(nodeBin, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_USE_ENV_PROXY: '1', HTTPS_PROXY: s.proxyUrl, NO_PROXY: '', NODE_EXTRA_CA_CERTS: s.caPath },
    });
    expect(out.stdout.trim()).toBe('200 /client');
  });

  it('Python requests with HTTPS_PROXY and REQUESTS_CA_BUNDLE', async () => {
    const script = `import requests; r = requests.get(${JSON.stringify(url)}); print(r.status_code, r.json()["url"])`;
    const out = await run('python3', ['-c', script], { env: { ...process.env, HTTPS_PROXY: s.proxyUrl, NO_PROXY: '', REQUESTS_CA_BUNDLE: s.caPath } });
    expect(out.stdout.trim()).toBe('200 /client');
  });

  it('git clone over HTTPS through the proxy', async () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-clone-'));
    // GIT_SSL_CAINFO (set on many machines) beats http.sslCAInfo, so set the variable itself.
    await run('git', ['-c', `http.proxy=${s.proxyUrl}`, 'clone', '-q', `https://git.allowed.test:${gitServer.port}/${gitServer.repoName}`, path.join(dest, 'repo')], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_SSL_CAINFO: s.caPath } });
    const head = await run('git', ['-C', path.join(dest, 'repo'), 'rev-parse', 'HEAD']);
    expect(head.stdout.trim()).toBe(gitServer.headCommit);
    expect(fs.readFileSync(path.join(dest, 'repo', 'README.md'), 'utf8')).toContain('served through sluice');
  });
});
