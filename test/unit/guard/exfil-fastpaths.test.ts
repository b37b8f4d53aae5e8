// The exfil stage finds its anchors with indexOf ('=' for env dumps, '_' for aws_access_key_id, 'Config' for
// kubeconfigs) instead of scanning every position with a regex. These tests hold the fast paths to the regex
// scans they replaced: the same findings on texts built to put anchors at every awkward place.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createExfilStage } from '../../../src/guard/stages/exfil.ts';
import { scan } from './helpers.ts';

const stage = createExfilStage();

/** The stage's findings of one rule, as spans. */
const spans = (text: string, rule: string): string[] =>
  scan(stage, text)
    .filter((f) => f.rule === rule)
    .map((f) => `${f.span[0]}-${f.span[1]}`);

// The scans as they were, kept here as the reference.
const SECRET_NAME = /KEY|SECRET|TOKEN|PASS|PWD|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|DSN|DATABASE_URL|CONN/;

function referenceEnvDumps(text: string): string[] {
  const out: string[] = [];
  if (text.indexOf('=') === -1) return out;
  const re = /(?:^|\n)[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})=([^\n]*)/g;
  let block: { start: number; end: number; lines: number; secrets: number; lastLine: number } | null = null;
  let lineNo = 0;
  let lastPos = 0;
  const flush = () => {
    if (block && block.lines >= 5 && block.secrets >= 2) out.push(`${block.start}-${block.end}`);
    block = null;
  };
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    for (let p = text.indexOf('\n', lastPos); p !== -1 && p < m.index + 1; p = text.indexOf('\n', p + 1)) lineNo++;
    lastPos = m.index + 1;
    const start = text[m.index] === '\n' ? m.index + 1 : m.index;
    const end = m.index + m[0].length;
    const secret = SECRET_NAME.test(m[1]!) && m[2]!.replace(/["']/g, '').trim().length >= 8 ? 1 : 0;
    if (block && lineNo - block.lastLine <= 2) {
      block.end = end;
      block.lines++;
      block.secrets += secret;
      block.lastLine = lineNo;
    } else {
      flush();
      block = { start, end, lines: 1, secrets: secret, lastLine: lineNo };
    }
  }
  flush();
  return out;
}

function referenceAwsFiles(text: string): string[] {
  const out: string[] = [];
  const key = /aws_access_key_id/gi;
  for (let m = key.exec(text); m !== null; m = key.exec(text)) {
    const at = m.index;
    const back = text.slice(Math.max(0, at - 400), at);
    let header = -1;
    const profile = /\[[\w\-. ]{1,64}\][ \t]*\r?\n/g;
    for (let p = profile.exec(back); p !== null; p = profile.exec(back)) header = p.index;
    if (header === -1) continue;
    const secret = /aws_secret_access_key[ \t]*=[ \t]*[A-Za-z0-9/+]{30,}[^\n]*/i.exec(text.slice(at, at + 600));
    if (!secret) continue;
    out.push(`${Math.max(0, at - 400) + header}-${at + secret.index + secret[0].length}`);
  }
  return out;
}

function referenceKubeconfigs(text: string): string[] {
  const out: string[] = [];
  for (let at = text.indexOf('kind: Config'); at !== -1; at = text.indexOf('kind: Config', at + 1)) {
    const from = Math.max(0, at - 3000);
    const region = text.slice(from, at + 6000);
    const api = region.indexOf('apiVersion:');
    const secret = /(?:client-key-data|token|password):[ \t]*["']?[A-Za-z0-9+/=_.\-]{16,}/.exec(region);
    if (api === -1 || !secret || !region.includes('users:')) continue;
    out.push(`${from + Math.min(api, secret.index)}-${from + Math.max(at - from + 12, secret.index + secret[0].length)}`);
  }
  return out;
}

const SECRET = 'Zq8fK2mP9xL4vR7tW1yB3nC6';

/** Pieces that put env lines, near-misses and the other anchors next to each other in every order. */
const piece = fc.constantFrom(
  '\n',
  '\r\n',
  '=',
  ' ',
  '\t',
  'x',
  'export ',
  'export\t',
  'exported ',
  'E',
  'PATH=/usr/bin',
  `GITHUB_TOKEN=${SECRET}`,
  `DB_PASSWORD="${SECRET}"`,
  'API_KEY=',
  'lower_key=value',
  'HOME=/home/a',
  '  SHELL=/bin/sh',
  'A=1',
  'const total = a + b;',
  '[default]\n',
  '[prod profile] \r\n',
  'aws_access_key_id',
  'AWS_ACCESS_KEY_ID = AKIAABCDEFGHIJKLMNOP',
  'Aws_Access_Key_Id',
  'aws_access_key',
  '_access_key_id',
  `aws_secret_access_key = ${SECRET}${SECRET}`,
  'kind: Config',
  'kind: Configmap',
  'Kind: Config',
  'Config',
  'apiVersion: v1',
  'users:',
  `token: ${SECRET}`,
);

const texts = fc.array(piece, { maxLength: 60 }).map((ps) => ps.join(''));

describe('exfil fast paths', () => {
  it('find exactly what the full regex scans found', () => {
    fc.assert(
      fc.property(texts, (text) => {
        expect(spans(text, 'exfil/env-dump')).toEqual(referenceEnvDumps(text));
        expect(spans(text, 'exfil/aws-credentials-file')).toEqual(referenceAwsFiles(text));
        expect(spans(text, 'exfil/kubeconfig')).toEqual(referenceKubeconfigs(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('an env dump on the first line, after a leading newline, with export, and a near miss in lower case', () => {
    const lines = ['PATH=/usr/bin', `export GITHUB_TOKEN=${SECRET}`, 'HOME=/home/a', `\tDB_PASSWORD=${SECRET}`, 'LANG=C'];
    for (const text of [lines.join('\n'), `\n${lines.join('\n')}`, `x = 1\n\n${lines.join('\n')}\n`]) {
      expect(spans(text, 'exfil/env-dump')).toHaveLength(1);
      expect(spans(text, 'exfil/env-dump')).toEqual(referenceEnvDumps(text));
    }
    const lower = lines.map((l) => l.replace(/^(\s*(?:export )?)([A-Z_]+)/, (_, p: string, n: string) => p + n.toLowerCase())).join('\n');
    expect(spans(lower, 'exfil/env-dump')).toEqual([]);
  });

  it('aws_access_key_id in any case at the very start, and a near miss', () => {
    const file = (name: string) => `${name} = AKIAABCDEFGHIJKLMNOP\naws_secret_access_key = ${SECRET}${SECRET}\n`;
    for (const name of ['aws_access_key_id', 'AWS_ACCESS_KEY_ID', 'aWs_AcCeSs_KeY_iD']) {
      expect(spans(`[default]\n${file(name)}`, 'exfil/aws-credentials-file')).toHaveLength(1);
    }
    expect(spans(`[default]\n${file('aws_access_key-id')}`, 'exfil/aws-credentials-file')).toEqual([]);
  });
});
