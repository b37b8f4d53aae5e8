// The short soak (the full run is `node bench/soak.ts 200000`): ~3,000 requests over plain HTTP, intercepted HTTPS
// and blind tunnels at concurrency 64. No request may fail, every plain and intercepted request must have an audit
// line, every log line must be JSON, and open file descriptors must not grow after warm-up. RSS is printed, not
// asserted: at this length it still measures warm-up, not leaks (the bench asserts it over 200,000 requests).
import { describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/soak.ts';

describe('soak (short CI variant)', () => {
  it('3,000 mixed requests at concurrency 64: zero errors, all audited, no fd growth', async () => {
    const r = await runSoak({ requests: 3000, concurrency: 64 });
    console.log(`soak: ${r.requests} requests in ${r.seconds.toFixed(1)} s, RSS ${(r.rss.warm / 1e6).toFixed(1)} -> ${(r.rss.end / 1e6).toFixed(1)} MB (${r.rss.growthPct.toFixed(1)}%), fds ${r.fds.warm} -> ${r.fds.end}`);
    expect(r.requests).toBe(3000);
    expect(r.errors).toEqual({});
    expect(r.badLogLines).toBe(0);
    expect(r.auditLines).toBeGreaterThanOrEqual((r.byMode['plain'] ?? 0) + (r.byMode['inspect'] ?? 0));
    expect(r.fds.end).toBeLessThanOrEqual(r.fds.warm * 1.1 + 16);
  }, 120_000);
});
