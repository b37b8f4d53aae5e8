// startTestSluice(): the real Sluice, in this process, on port 0 with a temp state dir and the policy the test
// writes. Config goes through the real YAML loader; audit lines are captured as parsed JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import YAML from 'yaml';
import { loadConfig } from '../../src/config/index.ts';
import { startSluice, type RunningSluice } from '../../src/server.ts';

export interface TestSluice {
  readonly sluice: RunningSluice;
  readonly dir: string;
  readonly port: number;
  readonly proxyUrl: string;
  readonly socketPath: string | null;
  readonly caPem: string;
  readonly caPath: string;
  readonly policyDir: string;
  /** Every JSON line logged so far. */
  lines(): Record<string, unknown>[];
  /** The audit lines (msg "request"). */
  audit(): Record<string, unknown>[];
  /** Every log byte as text, for "no secret anywhere" assertions. */
  rawLog(): string;
  close(): Promise<void>;
}

export interface TestSluiceOptions {
  /** Policy YAML (a string) or object, written to policies/test.yaml. */
  readonly policy: string | Record<string, unknown>;
  /** Names the upstream may be reached by; all resolve to 127.0.0.1. */
  readonly names?: readonly string[];
  readonly trustCa?: readonly string[];
  readonly unixSocket?: boolean;
  /** Extra or overriding config keys. */
  readonly config?: Record<string, unknown>;
  readonly allowPrivate?: readonly string[];
}

export async function startTestSluice(options: TestSluiceOptions): Promise<TestSluice> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-test-'));
  const policyDir = path.join(dir, 'policies');
  fs.mkdirSync(policyDir);
  const policyText = typeof options.policy === 'string' ? options.policy : YAML.stringify(options.policy);
  fs.writeFileSync(path.join(policyDir, 'test.yaml'), policyText);
  const socketPath = options.unixSocket ? path.join(dir, 'run', 'proxy.sock') : null;
  const resolve: Record<string, string> = {};
  for (const n of options.names ?? []) resolve[n] = '127.0.0.1';
  const config = {
    listen: ['127.0.0.1:0', ...(socketPath ? [`unix:${socketPath}`] : [])],
    stateDir: path.join(dir, 'state'),
    policies: policyDir,
    secrets: [],
    upstream: { resolve, trustCa: options.trustCa ?? [], allowPrivate: options.allowPrivate ?? ['127.0.0.0/8'] },
    log: { level: 'info' },
    ...options.config,
  };
  const configFile = path.join(dir, 'sluice.yaml');
  fs.writeFileSync(configFile, YAML.stringify(config));
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const sluice = await startSluice(loadConfig(configFile, { required: true }), { logDestination: sink });
  const tcp = sluice.listeners.find((l): l is { tcp: string } => 'tcp' in l)!.tcp;
  const port = Number(tcp.split(':').pop());
  const lines = () =>
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    sluice,
    dir,
    port,
    proxyUrl: `http://127.0.0.1:${port}`,
    socketPath,
    caPem: sluice.ca.certPem,
    caPath: sluice.ca.certPath,
    policyDir,
    lines,
    audit: () => lines().filter((l) => l['msg'] === 'request'),
    rawLog: () => text,
    close: () => sluice.close(),
  };
}

/** Wait until a condition holds (audit lines are written when a response closes, slightly after the client sees it). */
export async function eventually<T>(fn: () => T | undefined | null | false, timeoutMs = 3000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
