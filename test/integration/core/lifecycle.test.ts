// `sluice start` as a process: the listening line, unix socket ownership, SIGTERM drain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { spawnSluice } from '../../helpers/process.ts';
import { viaProxy } from '../../helpers/clients.ts';

describe('sluice start (process)', () => {
  let slow: TestUpstream;
  let dir: string;
  let configFile: string;
  let socketPath: string;

  beforeAll(async () => {
    slow = await startUpstream({ handler: (_req, res) => setTimeout(() => res.end('finished after a while'), 800) });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-life-'));
    fs.mkdirSync(path.join(dir, 'policies'));
    fs.writeFileSync(path.join(dir, 'policies', 'p.yaml'), YAML.stringify({ hosts: [{ host: 'slow.test', ports: [slow.port] }] }));
    socketPath = path.join(dir, 'proxy.sock');
    configFile = path.join(dir, 'sluice.yaml');
    fs.writeFileSync(configFile, YAML.stringify({
      listen: ['127.0.0.1:0', `unix:${socketPath}`],
      stateDir: path.join(dir, 'state'),
      policies: path.join(dir, 'policies'),
      secrets: [],
      upstream: { resolve: { 'slow.test': '127.0.0.1' }, allowPrivate: ['127.0.0.0/8'] },
    }));
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('replaces a stale socket, refuses a live one, drains on SIGTERM and exits 0', async () => {
    // A socket file left by a crashed run: a process bound it and died without unlinking it.
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(socketPath)})`]);
    expect(fs.existsSync(socketPath)).toBe(true);

    const first = spawnSluice(['start', '--config', configFile]);
    const listening = await first.listening;
    expect(listening, first.stderr()).not.toBeNull();
    const listeners = listening!['listeners'] as Record<string, string>[];
    expect(listeners.some((l) => l['unix'] === socketPath)).toBe(true);
    expect(fs.statSync(path.join(dir, 'state', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const port = Number(listeners.find((l) => l['tcp'])!['tcp']!.split(':').pop());

    const second = spawnSluice(['start', '--config', configFile]);
    expect(await second.exit()).toBe(1);
    expect(second.stderr()).toContain('in use');

    const inFlight = viaProxy(port, 'GET', `http://slow.test:${slow.port}/slow`);
    await new Promise((r) => setTimeout(r, 200));
    first.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.text()).toBe('finished after a while');
    expect(await first.exit()).toBe(0);
    expect(first.lines.some((l) => l['msg'] === 'request' && l['host'] === 'slow.test' && l['status'] === 200)).toBe(true);
    // After the drain nothing accepts any more.
    await expect(viaProxy(port, 'GET', `http://slow.test:${slow.port}/late`)).rejects.toThrow();
  });

  it('writes the audit lines in batches that stay whole lines, in order, none lost on SIGTERM, and a lone line soon', async () => {
    const p = spawnSluice(['start', '--config', configFile]);
    const listening = await p.listening;
    expect(listening, p.stderr()).not.toBeNull();
    const port = Number((listening!['listeners'] as Record<string, string>[]).find((l) => l['tcp'])!['tcp']!.split(':').pop());
    const requestLines = () => p.lines.filter((l) => l['msg'] === 'request');

    // One request at low traffic: its line arrives while Sluice keeps running (the periodic flush), not at exit.
    expect((await viaProxy(port, 'GET', 'http://lone.denied.test/')).status).toBe(403);
    for (let i = 0; i < 100 && requestLines().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(requestLines().map((l) => l['host'])).toEqual(['lone.denied.test']);

    // A burst fills several 8 KiB batches; every line must still parse on its own (spawnSluice parses each).
    const n = 300;
    for (let i = 0; i < n; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => viaProxy(port, 'GET', `http://burst-${i + k}.denied.test/`)));
    }
    p.child.kill('SIGTERM');
    expect(await p.exit()).toBe(0);
    const hosts = requestLines().map((l) => l['host'] as string);
    expect(hosts).toHaveLength(n + 1);
    expect(new Set(hosts).size).toBe(n + 1);
    expect(p.lines.at(-1)!['msg']).toBe('stopped');
  });

  it('refuses to start on an invalid config and names the place', async () => {
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'listen: ["127.0.0.1:0"]\nlisten_typo: 1\n');
    const p = spawnSluice(['start', '--config', bad]);
    expect(await p.exit()).toBe(1);
    expect(p.stderr()).toMatch(/bad\.yaml:2:1: unknown key "listen_typo"/);
  });

  it('prints usage and exits 2 on an unknown command or flag', async () => {
    const a = spawnSluice(['frobnicate']);
    expect(await a.exit()).toBe(2);
    expect(a.stderr()).toContain('Usage: sluice');
    const b = spawnSluice(['start', '--nope']);
    expect(await b.exit()).toBe(2);
  });
});
