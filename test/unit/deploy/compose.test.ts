// The Compose files: validated by docker-compose itself when it is installed (Debian's docker-compose
// validates against the Compose schema without a Docker engine), and always parsed and checked for the
// agent's isolation: no network or an internal one, read-only root, no capabilities, no new privileges.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSluiceConfig, policyFilesIn, readDocs, ROOT, tempDir, type Doc } from './helpers.ts';

const DIR = path.join(ROOT, 'deploy/compose');
const SOCKET_FILE = path.join(DIR, 'docker-compose.yaml');
const INTERNAL_FILE = path.join(DIR, 'docker-compose.internal.yaml');
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

function load(file: string): Doc {
  const [doc] = readDocs(file);
  return doc!;
}

function expectHardened(name: string, s: Doc): void {
  expect(s.read_only, `${name}.read_only`).toBe(true);
  expect(s.cap_drop, `${name}.cap_drop`).toEqual(['ALL']);
  expect(s.cap_add, `${name}.cap_add`).toBeUndefined();
  expect(s.privileged, `${name}.privileged`).toBeUndefined();
  expect(s.security_opt, `${name}.security_opt`).toContain('no-new-privileges:true');
  expect(s.tmpfs, `${name}.tmpfs`).toContain('/tmp');
}

const CA_VARS = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE'];

function expectAgentEnv(env: Record<string, string>, proxy: string): void {
  for (const v of ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy']) expect(env[v], v).toBe(proxy);
  expect(env.NO_PROXY).toContain('127.0.0.1');
  expect(env.NODE_USE_ENV_PROXY).toBe('1');
  for (const v of CA_VARS) expect(env[v], v).toBe('/etc/sluice-ca/ca.pem');
  // The agent is given placeholders, never values.
  for (const [k, v] of Object.entries(env)) if (/TOKEN|KEY|SECRET/.test(k)) expect(v, k).toMatch(/^sluice:/);
}

function mounts(s: Doc): { source: string; target: string; mode: string }[] {
  return (s.volumes ?? []).map((v: string) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, mode };
  });
}

describe('compose files', () => {
  it.skipIf(!hasCompose && !process.env.CI).each([SOCKET_FILE, INTERNAL_FILE])('docker-compose config accepts %s', (file) => {
    const r = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd: DIR, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasCompose && !process.env.CI)('docker-compose rejects a misspelt hardening key (the validator can fail)', () => {
    const dir = tempDir('sluice-compose-');
    const tmp = path.join(dir, 'docker-compose.yaml');
    fs.writeFileSync(tmp, fs.readFileSync(SOCKET_FILE, 'utf8').replace('cap_drop: [ALL]', 'cap_dorp: [ALL]'));
    try {
      const r = spawnSync('docker-compose', ['--project-directory', DIR, '-f', tmp, 'config', '-q'], { cwd: DIR, encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('cap_dorp');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('socket variant: the agent has no network, reaches Sluice through the socket and runs the bridge', () => {
    const c = load(SOCKET_FILE);
    const agent = c.services.agent;
    for (const [name, s] of Object.entries(c.services)) expectHardened(name, s as Doc);
    expect(agent.network_mode).toBe('none');
    expect(agent.networks).toBeUndefined();
    expect(agent.ports).toBeUndefined();
    expectAgentEnv(agent.environment, 'http://127.0.0.1:3128');
    const agentMounts = mounts(agent);
    expect(agentMounts).toContainEqual({ source: 'sluice-socket', target: '/run/sluice', mode: 'ro' });
    expect(agentMounts).toContainEqual({ source: 'ca-public', target: '/etc/sluice-ca', mode: 'ro' });
    const script = fs.readFileSync(path.join(DIR, 'agent-entrypoint.sh'), 'utf8');
    expect(script).toContain('bridge --listen 127.0.0.1:3128 --socket "$socket"');
    expect(agent.environment.SLUICE_BRIDGE_SOCKET).toBe('/run/sluice/proxy.sock');
    expect(mounts(c.services.sluice)).toContainEqual({ source: 'sluice-socket', target: '/run/sluice', mode: 'rw' });
    const config = fs.readFileSync(path.join(DIR, 'sluice.yaml'), 'utf8');
    expect(config).toContain('unix:/run/sluice/proxy.sock');
    expect(config).not.toMatch(/^\s*-\s*"?(0\.0\.0\.0|\[::\]):3128/m);
  });

  it('internal variant: the agent is only on an internal network, shared with Sluice alone', () => {
    const c = load(INTERNAL_FILE);
    for (const [name, s] of Object.entries(c.services)) expectHardened(name, s as Doc);
    expect(c.networks.agents.internal).toBe(true);
    expect(c.networks.egress.internal).toBeUndefined();
    const agent = c.services.agent;
    expect(agent.networks).toEqual(['agents']);
    expect(agent.network_mode).toBeUndefined();
    expect(c.services.sluice.networks).toEqual(['agents', 'egress']);
    const onAgents = Object.entries(c.services).filter(([, s]) => ((s as Doc).networks ?? []).includes('agents')).map(([n]) => n);
    expect(onAgents.sort()).toEqual(['agent', 'sluice']);
    expectAgentEnv(agent.environment, 'http://sluice:3128');
  });

  for (const file of [SOCKET_FILE, INTERNAL_FILE]) {
    it(`${path.basename(file)}: the agent gets the CA certificate but never the state (CA key) or secrets`, () => {
      const c = load(file);
      const agent = c.services.agent;
      expect(agent.secrets).toBeUndefined();
      expect(mounts(agent).map((m) => m.source)).not.toContain('sluice-state');
      expect(mounts(c.services['sluice-ca'])).toContainEqual({ source: 'ca-public', target: '/ca-public', mode: 'rw' });
      expect(c.services.sluice.secrets).toEqual([{ source: 'github_token', target: '/run/secrets/sluice/GITHUB_TOKEN' }]);
      // The admin port is published on the host's loopback only.
      expect(c.services.sluice.ports).toEqual(['127.0.0.1:9090:9090']);
    });
  }

  it.each(['sluice.yaml', 'sluice.internal.yaml'])('%s and the example policies load with Sluice\'s own loaders', (name) => {
    const text = fs.readFileSync(path.join(DIR, name), 'utf8');
    expect(checkSluiceConfig(text, policyFilesIn(path.join(DIR, 'policies')))).toEqual([]);
  });
});
