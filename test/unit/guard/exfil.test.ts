import { describe, expect, it } from 'vitest';
import { createExfilStage } from '../../../src/guard/stages/exfil.ts';
import { rand, scan, scanCtx, settings } from './helpers.ts';

const stage = createExfilStage();
const rules = (text: string, ctx = scanCtx()) => scan(stage, text, ctx).map((f) => f.rule);

function base64Of(bytes: Buffer): string {
  return bytes.toString('base64');
}

describe('exfiltration heuristics', () => {
  it('an environment dump with secret-like names vs a short config snippet', () => {
    const dump = ['PATH=/usr/bin', 'HOME=/home/agent', `GITHUB_TOKEN=${rand(30)}`, `AWS_SECRET_ACCESS_KEY=${rand(40)}`, 'LANG=C.UTF-8', 'SHELL=/bin/bash', `DB_PASSWORD=${rand(16)}`].join('\n');
    expect(rules(dump)).toEqual(['exfil/env-dump']);
    expect(rules('NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info\nAPI_KEY=\nHOST=0.0.0.0\n')).toEqual([]);
  });

  it('an AWS credentials file vs a mention of the key name', () => {
    const file = `[default]\naws_access_key_id = AKIA${rand(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}\naws_secret_access_key = ${rand(40)}\n`;
    expect(rules(file)).toContain('exfil/aws-credentials-file');
    expect(rules('set aws_access_key_id in your [default] profile')).toEqual([]);
  });

  it('a kubeconfig with a user token vs a Deployment manifest', () => {
    const kube = `apiVersion: v1\nkind: Config\nclusters:\n- name: c\nusers:\n- name: admin\n  user:\n    token: ${rand(40)}\n`;
    expect(rules(kube)).toContain('exfil/kubeconfig');
    expect(rules('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n')).toEqual([]);
  });

  it('a large high-entropy blob vs a base64 PNG, a certificate, or an upload host', () => {
    const blob = base64Of(Buffer.from(rand(4000)));
    expect(rules(`{"data":"${blob}"}`)).toEqual(['exfil/base64-blob']);
    const png = base64Of(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(rand(4000))]));
    expect(rules(`{"image":"${png}"}`)).toEqual([]);
    expect(rules(`{"image":"data:image/jpeg;base64,${blob}"}`)).toEqual([]);
    expect(rules(`-----BEGIN CERTIFICATE-----\n${blob}\n-----END CERTIFICATE-----`)).toEqual([]);
    expect(rules(`{"data":"${blob}"}`, scanCtx(settings({ uploadDestination: true })))).toEqual([]);
    expect(rules(`{"data":"${'A'.repeat(5000)}"}`)).toEqual([]);
  });

  it('DNS-label exfiltration: long high-entropy labels vs ordinary long names', () => {
    const hostCtx = (host: string) => scanCtx(settings(), { location: 'host', host });
    const leak = `${rand(40, 'abcdefghijklmnopqrstuvwxyz0123456789')}.wild.allowed.test`;
    expect(rules(leak, hostCtx(leak))).toEqual(['exfil/dns-label']);
    const ok = 'my-service-name-staging-eu-west.wild.allowed.test';
    expect(rules(ok, hostCtx(ok))).toEqual([]);
  });

  it('exfil: off switches the stage off', () => {
    expect(rules(`{"data":"${base64Of(Buffer.from(rand(4000)))}"}`, scanCtx(settings({ exfil: 'off' })))).toEqual([]);
  });
});
