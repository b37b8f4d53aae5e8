import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGuard } from './src/guard/index.ts';
import { DEFAULT_GUARD_SETTINGS } from './src/guard/settings.ts';
const t0 = performance.now();
const guard = createGuard({ knownSecrets: () => [], credentials: () => [], isHostAllowed: () => true });
console.log('guard created', performance.now() - t0);
const ctx: any = { agent: 'a', host: 'api.example.net', port: 443, method: 'POST', decision: { guard: DEFAULT_GUARD_SETTINGS, credential: null } };
async function run(body: string, ct: string) {
  const f = guard.requestBody(ctx, ct, '')!;
  const out: Buffer[] = [];
  try {
    await pipeline(Readable.from([Buffer.from(body)]), f.stream, new Writable({ write(c, _e, cb) { out.push(c); cb(); } }));
    console.log('OK', JSON.stringify(Buffer.concat(out).toString()), JSON.stringify(f.report()));
  } catch (e: any) { console.log('ERR', e.code, e.message, JSON.stringify(f.report())); }
}
await run('{"msg":"mail me at john.doe@acme.io or call +1 415 555 2671","card":4111111111111111,"note":"card 4111 1111 1111 1111"}', 'application/json');
await run('{"k":"ghp_' + 'aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5' + '"}', 'application/json');
await run('{"k":"AKIAIOSFODNN7EXAMPLE"}', 'application/json');
await run('order number 4111111111111111 and ssn 123-45-6788 iban GB82WEST12345698765432 rrn 900101-1234568', 'text/plain');
await run('a=1&email=bob%40corp.org&b=2', 'application/x-www-form-urlencoded');
console.log(JSON.stringify(guard.checkRequestHead(ctx, { target: '/x?token=ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5&q=hi&e=a%40b.io', headers: [['x-email', 'me@corp.io']] })));
