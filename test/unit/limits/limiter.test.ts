import { describe, expect, it } from 'vitest';
import { createLimiter, LIMIT_KIND, MAX_TRACKED_KEYS, RateBuckets } from '../../../src/net/limits.ts';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('request rate per agent', () => {
  it('admits the budget, refuses the next with a Retry-After, admits again once a token refilled', () => {
    const c = clock();
    const l = createLimiter({ requestsPerMinutePerAgent: 3 }, c.now);
    for (let i = 0; i < 3; i++) expect(l.admitRequest('a', 'x.example')).toEqual({ ok: true });
    const refused = l.admitRequest('a', 'x.example');
    expect(refused).toEqual({ ok: false, retryAfterSeconds: 20, kind: LIMIT_KIND.agentRequests });
    c.advance(19_999);
    expect(l.admitRequest('a', 'x.example').ok).toBe(false);
    c.advance(1);
    expect(l.admitRequest('a', 'x.example').ok).toBe(true);
  });

  it('counts agents separately: one agent at its limit does not limit another', () => {
    const c = clock();
    const l = createLimiter({ requestsPerMinutePerAgent: 1 }, c.now);
    expect(l.admitRequest('a', 'h').ok).toBe(true);
    expect(l.admitRequest('a', 'h').ok).toBe(false);
    expect(l.admitRequest('b', 'h').ok).toBe(true);
  });

  it('unset limits admit everything', () => {
    const l = createLimiter({});
    for (let i = 0; i < 10_000; i++) expect(l.admitRequest('a', 'h').ok).toBe(true);
    const releases = Array.from({ length: 100 }, () => l.acquireConnection('a'));
    expect(releases.every((r) => r !== null)).toBe(true);
  });
});

describe('request rate per host', () => {
  it('limits one destination across agents and leaves other hosts alone', () => {
    const c = clock();
    const l = createLimiter({ requestsPerMinutePerHost: 2 }, c.now);
    expect(l.admitRequest('a', 'api.example').ok).toBe(true);
    expect(l.admitRequest('b', 'api.example').ok).toBe(true);
    const r = l.admitRequest('c', 'api.example');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe(LIMIT_KIND.hostRequests);
      expect(r.retryAfterSeconds).toBe(30);
    }
    expect(l.admitRequest('c', 'other.example').ok).toBe(true);
  });

  it('a request refused for its host does not spend the agent budget', () => {
    const c = clock();
    const l = createLimiter({ requestsPerMinutePerAgent: 2, requestsPerMinutePerHost: 1 }, c.now);
    expect(l.admitRequest('a', 'busy').ok).toBe(true);
    expect(l.admitRequest('a', 'busy').ok).toBe(false);
    expect(l.admitRequest('a', 'busy').ok).toBe(false);
    expect(l.admitRequest('a', 'quiet').ok).toBe(true);
  });

  it('stays bounded when an agent sprays hosts', () => {
    const c = clock();
    const l = createLimiter({ requestsPerMinutePerHost: 5 }, c.now);
    for (let i = 0; i < MAX_TRACKED_KEYS * 2; i++) l.admitRequest('a', `h${i}.example`);
    // The most recent host is still tracked: its bucket was charged.
    for (let i = 0; i < 4; i++) expect(l.admitRequest('a', `h${MAX_TRACKED_KEYS * 2 - 1}.example`).ok).toBe(true);
    expect(l.admitRequest('a', `h${MAX_TRACKED_KEYS * 2 - 1}.example`).ok).toBe(false);
  });
});

describe('bucket memory', () => {
  it('never tracks more than MAX_TRACKED_KEYS keys, dropping refilled ones first', () => {
    const c = clock();
    const b = new RateBuckets(60, c.now);
    b.take('old-but-busy', 60);
    c.advance(30_000);
    for (let i = 0; i < MAX_TRACKED_KEYS * 2; i++) {
      b.take(`k${i}`, 1);
      expect(b.size).toBeLessThanOrEqual(MAX_TRACKED_KEYS);
    }
    expect(b.level(`k${MAX_TRACKED_KEYS * 2 - 1}`)).toBeCloseTo(59, 6);
  });
});

describe('bytes per minute per agent', () => {
  it('admits at exactly the budget and refuses one byte over until it is paid back', () => {
    const c = clock();
    const l = createLimiter({ bytesPerMinutePerAgent: 6000 }, c.now);
    l.addBytes('a', 6000);
    expect(l.admitRequest('a', 'h').ok).toBe(true);
    l.addBytes('a', 1);
    const r = l.admitRequest('a', 'h');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe(LIMIT_KIND.agentBytes);
      expect(r.retryAfterSeconds).toBeCloseTo(0.01, 6);
    }
    c.advance(10);
    expect(l.admitRequest('a', 'h').ok).toBe(true);
    expect(l.admitRequest('b', 'h').ok).toBe(true);
  });

  it('caps the debt at one minute, so one huge body cannot lock an agent out for hours', () => {
    const c = clock();
    const l = createLimiter({ bytesPerMinutePerAgent: 1000 }, c.now);
    l.addBytes('a', 1_000_000_000);
    const r = l.admitRequest('a', 'h');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.retryAfterSeconds).toBeLessThanOrEqual(120);
    c.advance(120_000);
    expect(l.admitRequest('a', 'h').ok).toBe(true);
  });

  it('ignores zero, negative and non-finite byte counts', () => {
    const l = createLimiter({ bytesPerMinutePerAgent: 10 }, clock().now);
    l.addBytes('a', -1e9);
    l.addBytes('a', Number.NaN);
    l.addBytes('a', 10);
    expect(l.admitRequest('a', 'h').ok).toBe(true);
  });
});

describe('connection and tunnel caps', () => {
  it('refuses the connection over the cap and admits one again after a release', () => {
    const l = createLimiter({ maxConnectionsPerAgent: 2 });
    const first = l.acquireConnection('a');
    const second = l.acquireConnection('a');
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(l.acquireConnection('a')).toBeNull();
    expect(l.acquireConnection('b')).not.toBeNull();
    first?.();
    const third = l.acquireConnection('a');
    expect(third).not.toBeNull();
    expect(l.acquireConnection('a')).toBeNull();
  });

  it('a release called twice frees one slot only', () => {
    const l = createLimiter({ maxTunnelsPerAgent: 2 });
    const t1 = l.acquireTunnel('a');
    const t2 = l.acquireTunnel('a');
    t1?.();
    t1?.();
    expect(l.acquireTunnel('a')).not.toBeNull();
    expect(l.acquireTunnel('a')).toBeNull();
    t2?.();
    expect(l.acquireTunnel('a')).not.toBeNull();
  });

  it('tunnels and connections are counted separately', () => {
    const l = createLimiter({ maxTunnelsPerAgent: 1, maxConnectionsPerAgent: 1 });
    expect(l.acquireConnection('a')).not.toBeNull();
    expect(l.acquireTunnel('a')).not.toBeNull();
    expect(l.acquireTunnel('a')).toBeNull();
    expect(l.acquireConnection('a')).toBeNull();
  });
});
