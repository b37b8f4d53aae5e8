import { describe, expect, it } from 'vitest';
import { createPiiStage } from '../../../src/guard/stages/pii.ts';
import { ibanValid, krrnValid, luhnValid, ssnValid } from '../../../src/guard/stages/pii-checks.ts';
import { scan, scanCtx, settings } from './helpers.ts';

const stage = createPiiStage();
const kinds = (text: string, ctx = scanCtx()) => scan(stage, text, ctx).map((f) => f.kind);

describe('checksums', () => {
  it('Luhn', () => {
    expect(luhnValid('4539578763621486')).toBe(true);
    expect(luhnValid('4539578763621487')).toBe(false);
  });
  it('IBAN mod-97: valid vs one digit off', () => {
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
  });
  it('SSN ranges', () => {
    expect(ssnValid('123', '45', '6780')).toBe(true);
    expect(ssnValid('000', '45', '6780')).toBe(false);
    expect(ssnValid('666', '45', '6780')).toBe(false);
    expect(ssnValid('912', '45', '6780')).toBe(false);
    expect(ssnValid('123', '00', '6780')).toBe(false);
    expect(ssnValid('123', '45', '0000')).toBe(false);
  });
  it('Korean RRN check digit', () => {
    expect(krrnValid('9001011234568')).toBe(true);
    expect(krrnValid('9001011234567')).toBe(false);
    expect(krrnValid('9013011234568')).toBe(false);
  });
});

describe('PII stage: attack beside near miss', () => {
  it('email; documentation domains and asset names are not', () => {
    expect(kinds('contact jane.roe@acme-corp.io today')).toEqual(['email']);
    expect(kinds('contact jane@example.com or logo@2x.png or git@github.com:o/r.git')).toEqual([]);
  });

  it('card: Luhn and IIN valid vs order number with the same digits', () => {
    expect(kinds('card: 4539 5787 6362 1486')).toEqual(['card']);
    expect(kinds('order number 4539578763621486')).toEqual([]);
    expect(kinds('card: 4539 5787 6362 1487')).toEqual([]);
    expect(kinds('ts 1700000000000000')).toEqual([]);
  });

  it('a card number inside a hash is not a card', () => {
    expect(kinds('sha a4539578763621486f')).toEqual([]);
  });

  it('IBAN valid vs one digit off', () => {
    expect(kinds('pay to GB82 WEST 1234 5698 7654 32')).toEqual(['iban']);
    expect(kinds('pay to GB82 WEST 1234 5698 7654 33')).toEqual([]);
  });

  it('SSN with dashes; 000 area and unlabelled bare digits are not', () => {
    expect(kinds('ssn 123-45-6780')).toEqual(['ssn']);
    expect(kinds('ssn 000-45-6780')).toEqual([]);
    expect(kinds('ref 123456780')).toEqual([]);
    expect(kinds('SSN: 123456780')).toEqual(['ssn']);
  });

  it('Korean RRN with checksum', () => {
    expect(kinds('주민등록번호 900101-1234568')).toEqual(['krrn']);
    expect(kinds('주민등록번호 900101-1234567')).toEqual([]);
  });

  it('phones: US, KR, international; dates and versions are not', () => {
    expect(kinds('call (415) 555-2671')).toEqual(['phone']);
    expect(kinds('call 010-1234-5678')).toEqual(['phone']);
    expect(kinds('call +44 20 7946 0958')).toEqual(['phone']);
    expect(kinds('on 2024-01-15 v1.2.3 build 123-456')).toEqual([]);
  });

  it('IP addresses only when enabled', () => {
    expect(kinds('host 10.1.2.3')).toEqual([]);
    expect(kinds('host 10.1.2.3', scanCtx(settings({ pii: { ip: 'log' } })))).toEqual(['ip']);
  });

  it('per-kind actions come from settings (default redact)', () => {
    const [f] = scan(stage, 'jane.roe@acme-corp.io', scanCtx(settings({ pii: { email: 'block' } })));
    expect(f!.action).toBe('block');
    expect(scan(stage, 'jane.roe@acme-corp.io')[0]!.action).toBe('redact');
    expect(kinds('jane.roe@acme-corp.io', scanCtx(settings({ pii: { email: 'off' } })))).toEqual([]);
  });
});
