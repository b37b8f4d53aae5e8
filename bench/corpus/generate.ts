// The labelled detection corpus: every secret rule's tokens (generated from its regex) and PII values in
// realistic carriers, plus hard negatives that look like secrets or numbers but are not.
import { randomInt } from 'node:crypto';
import type { CompiledRule } from '../../src/guard/rules/pack.ts';
import { generator } from './regex-gen.ts';
import { shannonEntropy } from '../../src/guard/entropy.ts';

export interface Sample {
  readonly text: string;
  readonly contentType: string;
  /** The kind that must be found, with the token's place in text; null for a negative. */
  readonly kind: string | null;
  readonly span: readonly [number, number] | null;
  readonly label: string;
}

const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
const alnum = (n: number, a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789') => Array.from({ length: n }, () => a[randomInt(a.length)]).join('');
const PROSE = ['Please review the deployment notes below.', 'The build failed on step three, see the log.', 'Here is the summary you asked for.', 'We met on Tuesday to discuss the roadmap.'];

type Carrier = (token: string) => { text: string; contentType: string };
const CARRIERS: readonly Carrier[] = [
  (t) => ({ text: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `${pick(PROSE)} ${t} ${pick(PROSE)}` }] }), contentType: 'application/json' }),
  (t) => ({ text: `${pick(PROSE)}\n${t}\n${pick(PROSE)}\n`, contentType: 'text/plain' }),
  (t) => ({ text: `note=${encodeURIComponent(`see ${t} here`)}&page=2`, contentType: 'application/x-www-form-urlencoded' }),
  (t) => ({ text: `{"id":1,"log":${JSON.stringify(`line one\n${t}\nline three`)}}\n{"id":2}\n`, contentType: 'application/x-ndjson' }),
];

/** Locate the token in the carrier's decoded form (the scanner maps views back to raw offsets). */
function place(token: string, carrier: Carrier, kind: string, label: string): Sample {
  const { text, contentType } = carrier(token);
  return { text, contentType, kind, span: null, label: `${label}:${token.length}` };
}

function pem(label: string): string {
  const lines = Array.from({ length: 12 }, () => Buffer.from(alnum(48)).toString('base64'));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

function luhnComplete(prefix: string, length: number): string {
  let body = prefix + digits(length - prefix.length - 1);
  for (let d = 0; d < 10; d++) {
    const s = body + d;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      let v = Number(s[s.length - 1 - i]);
      if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
    }
    if (sum % 10 === 0) return s;
  }
  return body;
}

function iban(country: string, bbanLength: number): string {
  const bban = country === 'GB' ? `${alnum(4, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')}${digits(bbanLength - 4)}` : digits(bbanLength);
  const num = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rem = 0;
  for (const d of num) rem = (rem * 10 + Number(d)) % 97;
  return `${country}${String(98 - rem).padStart(2, '0')}${bban}`.replace(/(.{4})/g, '$1 ').trim();
}

function krrn(): string {
  const d = `${String(randomInt(50, 99))}${String(randomInt(1, 13)).padStart(2, '0')}${String(randomInt(1, 29)).padStart(2, '0')}${randomInt(1, 5)}${digits(5)}`;
  const w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(d[i]) * w[i]!;
  return `${d.slice(0, 6)}-${d.slice(6)}${(11 - (sum % 11)) % 10}`;
}

const PII: ReadonlyArray<readonly [string, () => string]> = [
  ['email', () => `${pick(['jane', 'li.wei', 'o.brien', 'kim_j'])}${randomInt(1000)}@${pick(['acme-corp.io', 'mail.co.uk', 'corp.example-mail.net', 'gmail.com'])}`],
  ['phone', () => pick([`(${pick(['212', '415', '646', '312', '617', '206'])}) ${randomInt(200, 999)}-${digits(4)}`, `010-${randomInt(2000, 9999)}-${digits(4)}`, `+44 20 7946 ${digits(4)}`, `+49 30 ${randomInt(2000000, 9999999)}`])],
  ['card', () => pick([() => luhnComplete('4', 16), () => luhnComplete(String(randomInt(51, 56)), 16), () => luhnComplete(pick(['34', '37']), 15), () => luhnComplete('6011', 16)])()],
  ['iban', () => pick([iban('GB', 18), iban('DE', 18), iban('FR', 23)])],
  ['ssn', () => `${String(pick([randomInt(1, 666), randomInt(667, 900)])).padStart(3, '0')}-${String(randomInt(1, 100)).padStart(2, '0')}-${String(randomInt(1, 10000)).padStart(4, '0')}`],
  ['krrn', krrn],
];

const NEGATIVES: ReadonlyArray<readonly [string, () => string]> = [
  ['uuid', () => crypto.randomUUID()],
  ['git-sha', () => alnum(40, '0123456789abcdef')],
  ['sha256', () => `sha256:${alnum(64, '0123456789abcdef')}`],
  ['npm-integrity', () => `sha512-${Buffer.from(alnum(64)).toString('base64')}`],
  ['png-data-uri', () => `data:image/png;base64,${Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), Buffer.from(alnum(3000))]).toString('base64')}`],
  ['jpeg-base64', () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(alnum(3000))]).toString('base64')],
  ['ssh-public-key', () => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${alnum(43)} dev@laptop`],
  ['pem-public-key', () => `-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${alnum(60)}\n-----END PUBLIC KEY-----`],
  ['aws-example', () => 'AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['placeholder', () => pick(['ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'api_key = "<your-api-key>"', 'OPENAI_API_KEY=${OPENAI_API_KEY}', 'password: changeme', 'token: "{{ .Values.token }}"', 'sk_live_...'])],
  ['order-number', () => `order number ${luhnComplete('4', 16)}`],
  ['timestamp', () => `"ts": ${Date.now()}${digits(3)}, "epoch": ${randomInt(1_600_000_000, 1_800_000_000)}`],
  ['version', () => `v${randomInt(10)}.${randomInt(30)}.${randomInt(99)} build 2024-${String(randomInt(1, 13)).padStart(2, '0')}-${String(randomInt(1, 29)).padStart(2, '0')}`],
  ['prose', () => `${pick(PROSE)} The token count was ${randomInt(9999)} and the max_tokens setting is 4096.`],
  ['pagination', () => `"next_page_token": "${alnum(48)}"`],
  ['doc-email', () => 'write to user@example.com or admin@localhost'],
];

/**
 * A rule with an entropy gate is specified not to flag values below it (a 3-character password in a URL has at
 * most 1.6 bits per character): a generated value under the gate is drawn again, so positives are values the
 * rule claims to catch. Uniform lengths made some 7% of basic-auth-url's passwords 3-5 characters long.
 */
function withinGate(rule: CompiledRule, g: () => string): () => string {
  if (rule.entropy === null) return g;
  const gate = rule.entropy;
  return () => {
    let s = g();
    for (let tries = 0; tries < 20; tries++) {
      const m = rule.re.matcher(s);
      if (!m.find() || m.start(rule.group) < 0 || shannonEntropy(s.slice(m.start(rule.group), m.end(rule.group))) >= gate) return s;
      s = g();
    }
    return s;
  };
}

export function buildCorpus(pack: readonly CompiledRule[], perRule = 4, perPii = 60, perNegative = 40, regexOf: (id: string) => string): Sample[] {
  const out: Sample[] = [];
  for (const rule of pack) {
    const label = /^\(-----BEGIN ([A-Z0-9 ]+)-----/.exec(regexOf(rule.id))?.[1];
    const g = label ? () => pem(label) : withinGate(rule, generator(regexOf(rule.id)));
    for (let i = 0; i < perRule; i++) out.push(place(` ${g()} `, pick(CARRIERS), rule.kind, rule.id));
  }
  for (const [kind, make] of PII) for (let i = 0; i < perPii; i++) out.push(place(make(), pick(CARRIERS), kind, kind));
  for (const [label, make] of NEGATIVES) {
    for (let i = 0; i < perNegative; i++) {
      const { text, contentType } = pick(CARRIERS)(make());
      out.push({ text, contentType, kind: null, span: null, label });
    }
  }
  return out;
}
