// Recall property: real-shaped random tokens are ALL found. The placeholder heuristic once dismissed any token
// that merely contained a word like "fake" in any case, which missed about 1 in 3000 real Anthropic keys (a body
// containing "fAKE"). Tokens come from a seeded PRNG so a failure reproduces exactly.
import { describe, expect, it } from 'vitest';
import { defaultRulePack } from '../../../src/guard/index.ts';
import { looksLikePlaceholder } from '../../../src/guard/entropy.ts';
import { createSecretPatternStage } from '../../../src/guard/stages/secret-patterns.ts';
import { scan } from './helpers.ts';

const stage = createSecretPatternStage(defaultRulePack());

function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const URLSAFE = `${ALNUM}_-`;
const B64 = `${ALNUM}+/`;
const HEX = '0123456789abcdef';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DIGITS = '0123456789';

type Draw = (n: number, alphabet: string) => string;

/** name, rule, token builder, carrier (the text the token is sent in). */
const FORMATS: Array<[string, string, (r: Draw) => string, (t: string) => string]> = [
  ['anthropic (alnum body)', 'anthropic-api-key', (r) => `sk-ant-api03-${r(93, ALNUM)}AA`, (t) => `x-api-key: ${t}`],
  ['anthropic (url-safe body)', 'anthropic-api-key', (r) => `sk-ant-api03-${r(93, URLSAFE)}AA`, (t) => `{"key":"${t}"}`],
  ['openai project', 'openai-project-key', (r) => `sk-proj-${r(120, URLSAFE)}`, (t) => `OPENAI_API_KEY=${t}`],
  ['github classic', 'github-pat', (r) => `ghp_${r(36, ALNUM)}`, (t) => `token ${t}`],
  ['github fine-grained', 'github-fine-grained-pat', (r) => `github_pat_${r(82, `${ALNUM}_`)}`, (t) => `Authorization: Bearer ${t}`],
  ['gitlab', 'gitlab-pat', (r) => `glpat-${r(20, URLSAFE)}`, (t) => `PRIVATE-TOKEN: ${t}`],
  ['slack bot', 'slack-bot-token', (r) => `xoxb-${r(12, DIGITS)}-${r(13, DIGITS)}-${r(24, ALNUM)}`, (t) => `"token": "${t}"`],
  ['stripe live', 'stripe-live-secret-key', (r) => `sk_live_${r(24, ALNUM)}`, (t) => `stripe.api_key = '${t}'`],
  ['aws access key id', 'aws-access-key-id', (r) => `AKIA${r(16, B32)}`, (t) => `aws_access_key_id=${t}`],
  ['aws secret access key', 'aws-secret-access-key', (r) => r(40, B64), (t) => `aws_secret_access_key = ${t}\n`],
  ['npm', 'npm-access-token', (r) => `npm_${r(36, ALNUM)}`, (t) => `//registry.npmjs.org/:_authToken=${t}`],
  ['huggingface', 'huggingface-token', (r) => `hf_${r(34, LETTERS)}`, (t) => `HF_TOKEN=${t}`],
  ['sendgrid', 'sendgrid-api-key', (r) => `SG.${r(22, URLSAFE)}.${r(43, URLSAFE)}`, (t) => `apikey ${t}`],
  ['twilio', 'twilio-api-key', (r) => `SK${r(32, HEX)}`, (t) => `TWILIO_KEY=${t}`],
  ['gcp api key', 'gcp-api-key', (r) => `AIza${r(35, URLSAFE)}`, (t) => `?key=${t}`],
  ['groq', 'groq-api-key', (r) => `gsk_${r(52, ALNUM)}`, (t) => `GROQ_API_KEY=${t}`],
];

const PER_FORMAT = 2000;
/** Long bodies are where a word turns up by chance: draw more of them. */
const LONG_BODY = 6000;

/** Length of a token built with a constant draw (which formats have long bodies). */
function t0Length(token: (r: Draw) => string): number {
  return token((n, a) => a[0]!.repeat(n)).length;
}

describe('every real-shaped random token is found (seeded, 2000 per format, 6000 for long bodies)', () => {
  FORMATS.forEach(([name, rule, token, carrier], k) => {
    it(name, () => {
      const random = prng(0x51ce + k);
      const draw: Draw = (n, alphabet) => {
        let s = '';
        for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
        return s;
      };
      const missed: string[] = [];
      const n = t0Length(token) >= 80 ? LONG_BODY : PER_FORMAT;
      for (let i = 0; i < n; i++) {
        const t = token(draw);
        const text = carrier(t);
        const found = scan(stage, text).some((f) => f.rule === `secret/${rule}` && text.slice(f.span[0], f.span[1]) === t);
        if (!found) missed.push(t.slice(0, 6));
      }
      expect(missed, `${missed.length} missed`).toEqual([]);
    });
  });
});

describe('placeholders are judged whole, never by a word inside a random body', () => {
  it('a random body that happens to contain fAKE, test, xxx or example in mixed case is a secret', () => {
    const body = 'q8fAKEz3Kd9TeStR2mXxXvBn7ExAmPlEw4Lp0Zs6Yh1Jc5Gt8Uf2Ik9Oa3Qe7Wr4Ty6Ui1Op0As5Df8Gh2Jk7Lz3Xc9Vb4Nm6Qw1Er5Ty8';
    expect(looksLikePlaceholder(`sk-ant-api03-${body.slice(0, 93)}AA`)).toBe(false);
    expect(scan(stage, `sk-ant-api03-${body.slice(0, 93)}AA`).map((f) => f.rule)).toContain('secret/anthropic-api-key');
  });

  it.each([
    'AKIAIOSFODNN7EXAMPLE',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    'ghp_000000000000000000000000000000000000',
    'sk-ant-api03-YOUR_API_KEY_HERE',
    'xoxb-your-token-here',
    'sk_live_FAKE_KEY_FOR_TESTING_ONLY',
    'ghp_YourTokenHere',
    '<your-api-key>',
    '${OPENAI_API_KEY}',
    '{{ .Values.token }}',
    'sk_live_...',
    'sk_live_************************',
    '12345678',
    'abcdefghijklmnop',
    'sluice:GH_TOKEN',
    'ababababababababababab',
  ])('%s is a placeholder', (v) => {
    expect(looksLikePlaceholder(v)).toBe(true);
  });
});
