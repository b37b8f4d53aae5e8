import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { opensslCa, tempDirs } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/sluice.js', import.meta.url));
const dirs = tempDirs('ca-cli');
afterEach(() => dirs.cleanup());

function sluice(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sluice ca', () => {
  it('`ca show` on a fresh state dir creates the CA and prints its PEM; `ca init` then prints its path', async () => {
    const dir = await dirs.make();
    const config = path.join(dir, 'sluice.yaml');
    await fs.writeFile(config, 'stateDir: state\n');

    const show = sluice(dir, 'ca', 'show', '--config', config);
    expect(show.status).toBe(0);
    expect(show.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
    const certPath = path.join(dir, 'state', 'ca.pem');
    expect(await fs.readFile(certPath, 'utf8')).toBe(show.stdout);
    expect((await fs.stat(path.join(dir, 'state', 'ca-key.pem'))).mode & 0o777).toBe(0o600);
    expect(show.stdout).not.toContain('PRIVATE KEY');

    const init = sluice(dir, 'ca', 'init', '--config', config);
    expect(init.status).toBe(0);
    expect(init.stdout).toBe(`${certPath}\n`);
    expect(init.stderr).toContain(`CA already exists (SHA-256 ${new crypto.X509Certificate(show.stdout).fingerprint256})`);
  });

  it('`ca init` without a config file uses ./.sluice', async () => {
    const dir = await dirs.make();
    const init = sluice(dir, 'ca', 'init');
    expect(init.status).toBe(0);
    expect(init.stdout).toBe(`${path.join(dir, '.sluice', 'ca.pem')}\n`);
    expect(init.stderr).toContain('created CA');
  });

  it('uses the configured ca.cert/ca.key, and names the file when the key does not match', async () => {
    const dir = await dirs.make();
    const a = opensslCa(dir, 30, 'a');
    const b = opensslCa(dir, 30, 'b');
    const good = path.join(dir, 'good.yaml');
    await fs.writeFile(good, `ca: { cert: ${a.cert}, key: ${a.key} }\n`);
    const show = sluice(dir, 'ca', 'show', '--config', good);
    expect(show.status).toBe(0);
    expect(new crypto.X509Certificate(show.stdout).fingerprint256).toBe(
      new crypto.X509Certificate(await fs.readFile(a.cert)).fingerprint256,
    );

    const bad = path.join(dir, 'bad.yaml');
    await fs.writeFile(bad, `ca: { cert: ${a.cert}, key: ${b.key} }\n`);
    const refused = sluice(dir, 'ca', 'show', '--config', bad);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`CA key ${b.key} does not match certificate ${a.cert}`);
  });

  it('`ca show --env` prints the lines an agent needs, pointing at --path', async () => {
    const dir = await dirs.make();
    const env = sluice(dir, 'ca', 'show', '--env', '--path', '/run/sluice/ca.pem');
    expect(env.status).toBe(0);
    const lines = env.stdout.trimEnd().split('\n');
    for (const name of ['SSL_CERT_FILE', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'DENO_CERT']) {
      expect(lines).toContain(`${name}=/run/sluice/ca.pem`);
    }
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) expect(lines).toContain(`${name}=http://127.0.0.1:3128`);
    expect(lines).toContain('NO_PROXY=');
    expect(lines).toContain('NODE_USE_ENV_PROXY=1');
    expect(sluice(dir, 'ca', 'show', '--env').stdout).toContain('SSL_CERT_FILE=/etc/sluice/ca.pem\n');
  });

  it('usage mistakes exit 2, a missing explicit config exits 1 naming it', async () => {
    const dir = await dirs.make();
    for (const args of [['ca', 'burn'], ['ca', 'show', '--path', 'x'], ['ca', 'show', '--bogus']]) {
      const r = sluice(dir, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('Usage: sluice ca');
    }
    const missing = sluice(dir, 'ca', 'init', '--config', 'nope.yaml');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('nope.yaml');
    expect(sluice(dir, 'ca', '--help').status).toBe(0);
  });
});
