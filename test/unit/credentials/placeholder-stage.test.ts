import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD_SETTINGS } from '../../../src/guard/settings.ts';
import { createPlaceholderStage } from '../../../src/guard/stages/placeholders.ts';
import type { ScanContext } from '../../../src/guard/types.ts';
import type { CredentialSpec } from '../../../src/policy/types.ts';

function spec(secret: string, placeholder = `sluice:${secret}`): CredentialSpec {
  return { secret, in: 'header', header: 'Authorization', format: 'Bearer {secret}', query: null, placeholder };
}
const CREDS = Object.freeze([spec('GITHUB_TOKEN'), spec('GH'), spec('OPENAI_API_KEY', 'sk-placeholder-openai')]);
const stage = createPlaceholderStage(() => CREDS);

function ctx(boundSecret: string | null, direction: 'request' | 'response' = 'request'): ScanContext {
  return { direction, agent: 'a', host: 'h', contentType: 'application/json', location: 'body', settings: DEFAULT_GUARD_SETTINGS, boundSecret };
}
const scan = (text: string, bound: string | null, direction: 'request' | 'response' = 'request') => stage.scan({ text, offset: 5, ctx: ctx(bound, direction) });

describe('placeholder stage', () => {
  it('blocks a placeholder sent to a host not bound to its secret, naming the secret', () => {
    expect(scan('{"key":"sluice:GITHUB_TOKEN"}', 'OPENAI_API_KEY')).toEqual([
      { rule: 'placeholder-misuse', kind: 'placeholder:GITHUB_TOKEN', severity: 'high', span: [13, 32], action: 'block' },
    ]);
    expect(scan('?k=sluice%3AGITHUB_TOKEN', null).map((f) => f.kind)).toEqual(['placeholder:GITHUB_TOKEN']);
    expect(scan('?k=sluice%3aGITHUB_TOKEN', null).map((f) => f.kind)).toEqual(['placeholder:GITHUB_TOKEN']);
    expect(scan('Bearer sk-placeholder-openai', 'GITHUB_TOKEN').map((f) => f.kind)).toEqual(['placeholder:OPENAI_API_KEY']);
  });

  it('allows the bound placeholder, including a shorter unbound placeholder that is only part of it', () => {
    expect(scan('{"key":"sluice:GITHUB_TOKEN"}', 'GITHUB_TOKEN')).toEqual([]);
  });

  it('still blocks the shorter unbound placeholder on its own', () => {
    expect(scan('sluice:GITHUB_TOKEN and sluice:GH.', 'GITHUB_TOKEN').map((f) => f.kind)).toEqual(['placeholder:GH']);
  });

  it('near misses and responses pass', () => {
    expect(scan('sluice:GITHUB', null)).toEqual([]);
    expect(scan('SLUICE:GITHUB_TOKEN', null)).toEqual([]);
    expect(scan('sluice:GITHUB_TOKEN', null, 'response')).toEqual([]);
    expect(stage.accepts(ctx(null, 'response'))).toBe(false);
    expect(stage.maxMatchLength).toBe('sluice%3AGITHUB_TOKEN'.length);
  });

  it('with only one credential in the policy: its own host passes, every other host is blocked', () => {
    const only = Object.freeze([spec('GITHUB_TOKEN')]);
    const one = createPlaceholderStage(() => only);
    const run = (text: string, bound: string | null) => one.scan({ text, offset: 0, ctx: ctx(bound) }).map((f) => f.kind);
    expect(run('Bearer sluice:GITHUB_TOKEN', 'GITHUB_TOKEN')).toEqual([]);
    expect(run('Bearer sluice:GITHUB_TOKEN', null)).toEqual(['placeholder:GITHUB_TOKEN']);
    expect(run('?k=sluice%3agithub', 'OPENAI_API_KEY')).toEqual([]);
    expect(run('?k=sluice%3AGITHUB_TOKEN', 'OPENAI_API_KEY')).toEqual(['placeholder:GITHUB_TOKEN']);
  });
});
