// The batch in front of stdout: lines reach the sink whole and in order, one write per batch, and the time field
// made from a cached second is the one pino's isoTime writes.
import { describe, expect, it } from 'vitest';
import { LineBatch } from '../../../src/audit/line-batch.ts';
import { isoTime } from '../../../src/audit/logger.ts';

function recordingSink() {
  const writes: string[] = [];
  let flushes = 0;
  return {
    writes,
    flushes: () => flushes,
    sink: {
      write: (s: string) => (writes.push(s), true),
      flush: (cb?: (err?: Error) => void) => (flushes++, cb?.()),
      flushSync: () => undefined,
      end: () => undefined,
    },
  };
}

describe('LineBatch', () => {
  it('hands over one string per batch, lines whole and in order', () => {
    const r = recordingSink();
    const batch = new LineBatch(r.sink, { batchChars: 100, flushMs: 60_000 });
    const lines = Array.from({ length: 25 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i % 7)}"}\n`);
    for (const l of lines) batch.write(l);
    // Nothing is written per line: only once 100 characters have gathered.
    expect(r.writes.length).toBeGreaterThan(1);
    expect(r.writes.length).toBeLessThan(lines.length / 3);
    for (const w of r.writes) expect(w.length).toBeGreaterThanOrEqual(100);
    batch.flushSync();
    expect(r.writes.join('')).toBe(lines.join(''));
    batch.end();
  });

  it('writes what it holds on the timer, and on flush(cb) before calling back', async () => {
    const r = recordingSink();
    const batch = new LineBatch(r.sink, { batchChars: 1 << 20, flushMs: 20 });
    batch.write('one\n');
    expect(r.writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(r.writes).toEqual(['one\n']);
    batch.write('two\n');
    await new Promise<void>((resolve) => batch.flush(() => resolve()));
    expect(r.writes).toEqual(['one\n', 'two\n']);
    expect(r.flushes()).toBe(1);
    batch.end();
    batch.write('after end\n');
    await new Promise((resolve) => setTimeout(resolve, 60));
    // The timer stopped with end(): a line written after it waits for an explicit flush.
    expect(r.writes).toEqual(['one\n', 'two\n']);
  });
});

describe('isoTime', () => {
  it('is pino isoTime: the same field for every millisecond edge and across seconds, forwards and back', () => {
    const base = Date.UTC(2026, 11, 7, 23, 59, 58);
    const times = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 2000, 5, 86_400_000 + 7, 123_456_789].map((d) => base + d);
    times.push(base - 1, base + 999, base);
    for (const t of times) expect(isoTime(t)).toBe(`,"time":"${new Date(t).toISOString()}"`);
  });
});
