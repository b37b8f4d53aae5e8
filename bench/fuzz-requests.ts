// A bounded, long randomised run against a live Sluice (a coverage-guided fuzzer such as @jazzer.js/core is not
// installed in this project; see the hardening report). Throws random and mutated request lines, headers, chunked
// bodies and CONNECT lines at the listener and checks that (1) the process never crashes or throws, (2) every
// answer starts with a valid HTTP/1.1 status line, (3) a control request keeps succeeding, (4) every log line is
// JSON. Usage: node bench/fuzz-requests.ts [iterations=20000] [seed=1]
import net from 'node:net';
import fc from 'fast-check';
import { startTestSluice } from '../test/helpers/sluice.ts';
import { startUpstream } from '../test/helpers/upstream.ts';

const SPECIAL = ['\r', '\n', '\r\n', '\0', ' ', '\t', ':', '%', '@', '[', ']', '/', '\\', '#', '?', '.', '..', '%00', '%2f', '0x', '-', '+', ';', ',', '\u00ff', '\u0130', '\u212a', '\x7f', 'chunked', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 5\r\n', 'Host: evil.test\r\n', ':443', ':0', ':65536', 'HTTP/1.0', 'HTTP/2.0', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'];

function seeds(upPort: number): string[] {
  const a = `plain.fuzz.test:${upPort}`;
  return [
    `GET http://${a}/x?y=1 HTTP/1.1\r\nHost: ${a}\r\n\r\n`,
    `POST http://${a}/p HTTP/1.1\r\nHost: ${a}\r\nContent-Length: 5\r\n\r\nhello`,
    `POST http://${a}/c HTTP/1.1\r\nHost: ${a}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    `CONNECT api.fuzz.test:443 HTTP/1.1\r\nHost: api.fuzz.test:443\r\n\r\n`,
    `CONNECT ${a} HTTP/1.1\r\nHost: ${a}\r\n\r\n\x16\x03\x01\x00\x05hello`,
    `GET http://denied.test/ HTTP/1.1\r\nHost: denied.test\r\n\r\n`,
    `GET http://[::1]:${upPort}/ HTTP/1.1\r\nHost: [::1]\r\n\r\n`,
    `GET http://${a}/ws HTTP/1.1\r\nHost: ${a}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ];
}

type Op = { k: 'ins'; at: number; s: string } | { k: 'del'; at: number; n: number } | { k: 'flip'; at: number; b: number } | { k: 'dup'; at: number; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('ins' as const), at: fc.nat(), s: fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 8 })) }),
  fc.record({ k: fc.constant('del' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), b: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
);

function apply(input: string, ops: readonly Op[]): Buffer {
  let b = Buffer.from(input, 'latin1');
  for (const o of ops) {
    const at = b.length === 0 ? 0 : o.at % b.length;
    if (o.k === 'ins') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.s, 'utf8'), b.subarray(at)]);
    else if (o.k === 'del') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.n)]);
    else if (o.k === 'flip') b = Buffer.concat([b.subarray(0, at), Buffer.from([o.b]), b.subarray(at + 1)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + o.n), b.subarray(at)]);
  }
  return b;
}

/**
 * Send bytes and collect the answer until Sluice closes or `waitMs` passes. No half-close: Sluice drops the
 * response to a request whose client shut down its write side (reported; test/adversarial/protocol.test.ts).
 */
function shoot(port: number, bytes: Buffer, waitMs = 800): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), waitMs);
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    s.on('connect', () => s.write(bytes));
  });
}

export interface FuzzResult {
  readonly iterations: number;
  readonly statuses: Record<string, number>;
  readonly invalid: string[];
  readonly crashes: string[];
  readonly controlFailures: number;
  readonly badLogLines: number;
}

export async function runFuzz(iterations: number, seed: number, concurrency = 16): Promise<FuzzResult> {
  const crashes: string[] = [];
  const onCrash = (e: unknown) => crashes.push(String((e as Error)?.stack ?? e).slice(0, 500));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const up = await startUpstream();
  const s = await startTestSluice({
    names: ['plain.fuzz.test', 'api.fuzz.test', 'denied.test'],
    policy: { hosts: [{ host: 'plain.fuzz.test', ports: [up.port] }, { host: 'api.fuzz.test', ports: [443] }] },
    config: { limits: { headerTimeoutMs: 2000 } },
  });
  const corpus = seeds(up.port);
  const cases = fc.sample(
    fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...corpus), fc.array(op, { minLength: 1, maxLength: 6 })).map(([c, ops]) => apply(c, ops)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom('GET', 'CONNECT', 'POST', 'get', 'PRI', ''), fc.string({ maxLength: 60 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', '')).map(([m, t, v]) => Buffer.from(`${m} ${t} ${v}\r\nHost: x\r\n\r\n`, 'utf8')) },
    ),
    { numRuns: iterations, seed },
  );
  const statuses: Record<string, number> = {};
  const invalid: string[] = [];
  let controlFailures = 0;
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      const answer = await shoot(s.port, cases[i]!);
      const text = answer.toString('latin1');
      const m = /^HTTP\/1\.1 ([1-5]\d\d) /.exec(text);
      if (answer.length > 0 && !m) invalid.push(JSON.stringify({ input: cases[i]!.toString('latin1').slice(0, 200), output: text.slice(0, 120) }));
      statuses[m?.[1] ?? (answer.length === 0 ? 'closed' : 'invalid')] = (statuses[m?.[1] ?? (answer.length === 0 ? 'closed' : 'invalid')] ?? 0) + 1;
      if (++done % 1000 === 0) {
        const control = await shoot(s.port, Buffer.from(`GET http://plain.fuzz.test:${up.port}/control HTTP/1.1\r\nHost: plain.fuzz.test\r\nConnection: close\r\n\r\n`), 3000);
        if (!control.toString('latin1').startsWith('HTTP/1.1 200')) controlFailures++;
        console.log(`${done} iterations, statuses ${JSON.stringify(statuses)}, invalid ${invalid.length}, crashes ${crashes.length}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  let badLogLines = 0;
  for (const l of s.rawLog().split('\n')) {
    if (!l) continue;
    try {
      JSON.parse(l);
    } catch {
      badLogLines++;
    }
  }
  await s.close();
  await up.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  return { iterations: done, statuses, invalid, crashes, controlFailures, badLogLines };
}

if (import.meta.main) {
  const iterations = Number(process.argv[2] ?? 20_000);
  const seed = Number(process.argv[3] ?? 1);
  const r = await runFuzz(iterations, seed);
  console.log(JSON.stringify({ ...r, invalid: r.invalid.slice(0, 10) }, null, 2));
  console.log(`fuzz: ${r.iterations} iterations, ${r.invalid.length} invalid answers, ${r.crashes.length} crashes, ${r.controlFailures} control failures, ${r.badLogLines} bad log lines`);
  process.exit(r.invalid.length + r.crashes.length + r.controlFailures + r.badLogLines === 0 ? 0 : 1);
}
