import { describe, expect, it } from 'vitest';
import { parseHostPort } from '../../../src/admin/listen-address.ts';

describe('admin listen address', () => {
  it.each([
    ['127.0.0.1:9090', { host: '127.0.0.1', port: 9090 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:9090', { host: '::1', port: 9090 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('parses %s', (input, expected) => {
    expect(parseHostPort(input)).toEqual(expected);
  });

  it.each(['9090', '::1:9090', '127.0.0.1:65536', '127.0.0.1:', 'unix:/run/admin.sock', '127.0.0.1:90x'])('rejects %s', (input) => {
    expect(() => parseHostPort(input)).toThrow(/HOST:PORT/);
  });
});
