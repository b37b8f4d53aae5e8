import { describe, expect, it } from 'vitest';
import { defaultRulePack } from '../../../src/guard/index.ts';
import { compileRulePack, RulePackError } from '../../../src/guard/rules/pack.ts';
import { guardSettingsSchema } from '../../../src/guard/settings.ts';
import { createCustomRuleStage } from '../../../src/guard/stages/custom-rules.ts';
import { createSecretPatternStage } from '../../../src/guard/stages/secret-patterns.ts';
import { rand, randHex, scan, scanCtx, settings } from './helpers.ts';

const stage = createSecretPatternStage(defaultRulePack());
const rules = (text: string, ctx = scanCtx()) => scan(stage, text, ctx).map((f) => f.rule);
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

describe('secret rule pack', () => {
  it('has at least 150 rules, every one compiled by RE2', () => {
    expect(defaultRulePack().length).toBeGreaterThanOrEqual(150);
  });

  it('refuses a rule whose regex RE2 rejects, naming the rule', () => {
    const pack = 'rules:\n  - id: bad-backref\n    kind: x\n    keywords: [abc]\n    regex: "(abc)\\\\1"\n';
    expect(() => compileRulePack(pack, 'p.yaml')).toThrow(RulePackError);
    expect(() => compileRulePack(pack, 'p.yaml')).toThrow(/bad-backref/);
  });

  it('refuses a rule without keywords (it could not be prefiltered)', () => {
    expect(() => compileRulePack('rules:\n  - id: nokw\n    kind: x\n    keywords: []\n    regex: abc\n', 'p.yaml')).toThrow(/nokw/);
  });
});

describe('secret patterns: attack beside near miss', () => {
  const cases: Array<[string, () => string, () => string, string]> = [
    ['aws-access-key-id', () => `key=AKIA${rand(16, B32)}`, () => 'key=AKIAIOSFODNN7EXAMPLE', 'secret/aws-access-key-id'],
    ['aws-secret', () => `aws_secret_access_key = ${rand(40)}`, () => 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'secret/aws-secret-access-key'],
    ['github classic', () => `token ghp_${rand(36)}`, () => `token ghp_${'x'.repeat(36)}`, 'secret/github-pat'],
    ['github fine-grained', () => `github_pat_${rand(82, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_')}`, () => 'github_pat_<token>', 'secret/github-fine-grained-pat'],
    ['gitlab', () => `glpat-${rand(20)}`, () => 'glpat-short', 'secret/gitlab-pat'],
    ['slack bot', () => `xoxb-${rand(11, '0123456789')}-${rand(12, '0123456789')}-${rand(24)}`, () => 'xoxb-your-token-here', 'secret/slack-bot-token'],
    ['stripe live', () => `sk_live_${rand(24)}`, () => `sk_test_${'0'.repeat(4)}`, 'secret/stripe-live-secret-key'],
    ['anthropic', () => `sk-ant-api03-${rand(93)}AA`, () => 'sk-ant-api03-...', 'secret/anthropic-api-key'],
    ['openai project', () => `sk-proj-${rand(60)}`, () => 'sk-proj-YOUR_KEY', 'secret/openai-project-key'],
    ['npm', () => `npm_${rand(36)}`, () => 'npm_install_the_package', 'secret/npm-access-token'],
    ['huggingface', () => `hf_${rand(34, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ')}`, () => 'hf_hub_download', 'secret/huggingface-token'],
    ['pem', () => `-----BEGIN RSA PRIVATE KEY-----\nMIIE${rand(60)}\n-----END RSA PRIVATE KEY-----`, () => `-----BEGIN PUBLIC KEY-----\nMIIB${rand(60)}\n-----END PUBLIC KEY-----`, 'secret/private-key-rsa'],
    ['database url', () => `postgres://app:${rand(16)}@db.internal:5432/app`, () => 'postgres://app:password@db.internal:5432/app', 'secret/database-url-password'],
    ['generic password', () => `password = "${rand(14)}"`, () => 'password = "changeme"', 'secret/generic-password'],
    ['jwt', () => `eyJ${rand(20)}.eyJ${rand(40)}.${rand(43)}`, () => 'eyJhbGciOi.notajwt', 'secret/jwt'],
    ['sendgrid', () => `SG.${rand(22)}.${rand(43)}`, () => 'SG.example', 'secret/sendgrid-api-key'],
    ['twilio key', () => `SK${randHex(32)}`, () => `sk${randHex(32)}`, 'secret/twilio-api-key'],
  ];
  for (const [name, attack, miss, rule] of cases) {
    it(`${name}: found, near miss not`, () => {
      expect(rules(attack())).toContain(rule);
      expect(rules(miss())).not.toContain(rule);
    });
  }

  it('a token glued to a longer word is not a match (word boundary)', () => {
    expect(rules(`xAKIA${rand(16, B32)}`)).not.toContain('secret/aws-access-key-id');
  });

  it('pagination tokens are not generic secrets', () => {
    expect(rules(`"next_page_token": "${rand(40)}"`)).toEqual([]);
    expect(rules(`"token": "${rand(40)}"`)).toContain('secret/generic-token');
  });

  it('reports the secret span only, never the text', () => {
    const secret = `ghp_${rand(36)}`;
    const text = `{"auth": "${secret}"}`;
    const [f] = scan(stage, text);
    expect(f!.span).toEqual([text.indexOf(secret), text.indexOf(secret) + secret.length]);
    expect(JSON.stringify(f)).not.toContain(secret);
  });

  it('secrets: off and disableRules switch rules off', () => {
    const text = `ghp_${rand(36)}`;
    expect(rules(text, scanCtx(settings({ secrets: 'off' })))).toEqual([]);
    expect(rules(text, scanCtx(settings({ disableRules: ['github-pat'] })))).toEqual([]);
    expect(scan(stage, text, scanCtx(settings({ secrets: 'redact' })))[0]!.action).toBe('redact');
  });
});

describe('ops custom rules', () => {
  const custom = createCustomRuleStage();
  it('compiles at policy load and finds matches near keywords', () => {
    const s = guardSettingsSchema.parse({ rules: [{ id: 'acme', pattern: 'ACME-([0-9]{8})', keywords: ['acme-'], action: 'redact' }] });
    const ctx = scanCtx(settings(s));
    const f = scan(custom, 'id ACME-12345678 ok', ctx);
    expect(f).toEqual([expect.objectContaining({ rule: 'custom/acme', action: 'redact', span: [8, 16] })]);
    expect(scan(custom, 'id ACME-1234 ok', ctx)).toEqual([]);
  });

  it('a backtracking-only regex is a located load error', () => {
    const r = guardSettingsSchema.safeParse({ rules: [{ id: 'evil', pattern: '(a+)+\\1' }] });
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(issue.path).toEqual(['rules', 0, 'pattern']);
    expect(issue.message).toMatch(/rule evil: regex refused/);
  });

  it('a catastrophic-for-backtracking pattern runs in linear time under RE2', () => {
    const s = guardSettingsSchema.parse({ rules: [{ id: 'nested', pattern: '(a+)+b' }] });
    const f = scan(custom, 'a'.repeat(50_000), scanCtx(settings(s)));
    expect(f).toEqual([]);
  });
});

describe('placeholder detection does not swallow formatting', () => {
  it('a pretty-printed docker config with a real auth is found', () => {
    const cfg = `{\n  "auths": {\n        "registry.example.io": {\n            "auth": "${Buffer.from(`u:${rand(20)}`).toString('base64')}"\n        }\n  }\n}`;
    expect(rules(cfg)).toContain('secret/docker-config-auth');
  });
});
