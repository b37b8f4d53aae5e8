import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/audit/index.ts';
import { SecretUnavailableError } from '../../../src/errors.ts';
import { SecretValue } from '../../../src/secrets/index.ts';

const RAW = 'ghp_NeverPrintMe0123456789abcdef';

function captureLogger(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('trace', sink), lines };
}

describe('SecretValue never prints its value', () => {
  const secret = new SecretValue('GITHUB_TOKEN', RAW);

  it('prints only its name through every way a value is turned into text', () => {
    const texts = [
      JSON.stringify(secret),
      JSON.stringify({ nested: { secret }, list: [secret] }),
      String(secret),
      `${secret}`,
      'x' + secret,
      inspect(secret),
      inspect({ deep: { deeper: { secret } } }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, secret),
      JSON.stringify({ ...secret }),
      Object.keys(secret).join(','),
    ];
    for (const t of texts) expect(t).not.toContain(RAW);
    expect(String(secret)).toBe('[secret GITHUB_TOKEN]');
    expect(JSON.stringify(secret)).toBe('"[secret GITHUB_TOKEN]"');
    // The control: the value is there for the one caller that needs it.
    expect(secret.reveal()).toBe(RAW);
  });

  it('stays hidden in pino output, in any field and as an error cause', async () => {
    const { log, lines } = captureLogger();
    log.info({ credential: secret, headers: { 'x-custom': secret }, anything: [secret] }, 'request');
    log.error({ err: new SecretUnavailableError('GITHUB_TOKEN', { cause: new Error(String(secret)) }) }, 'failed');
    log.warn(`message with ${secret}`);
    log.flush();
    await new Promise((r) => setImmediate(r));
    expect(lines.length).toBe(3);
    for (const l of lines) expect(l).not.toContain(RAW);
    expect(lines.join('')).toContain('[secret GITHUB_TOKEN]');
  });

  it('compares values without exposing them', () => {
    expect(secret.equals(new SecretValue('GITHUB_TOKEN', RAW))).toBe(true);
    expect(secret.equals(new SecretValue('GITHUB_TOKEN', `${RAW}x`))).toBe(false);
    expect(secret.equals(new SecretValue('OTHER', RAW))).toBe(false);
  });
});
