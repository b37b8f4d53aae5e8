import { describe, expect, it } from 'vitest';
import { ALERT_KIND, createAnomalyDetector } from '../../../src/net/limits.ts';

function clock(start = 5_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('anomaly detector', () => {
  it('alerts when an agent suddenly asks for many new hosts, and not at exactly the threshold', () => {
    const c = clock();
    const d = createAnomalyDetector({ newHostsPerMinute: 5 }, c.now);
    for (let i = 0; i < 5; i++) expect(d.observe('a', `h${i}.example`, 'allow')).toBeNull();
    expect(d.observe('a', 'h5.example', 'deny')).toBe(ALERT_KIND.newHosts);
  });

  it('does not count a host the agent already used', () => {
    const c = clock();
    const d = createAnomalyDetector({ newHostsPerMinute: 2 }, c.now);
    expect(d.observe('a', 'api.example', 'allow')).toBeNull();
    for (let i = 0; i < 100; i++) expect(d.observe('a', 'api.example', 'allow')).toBeNull();
    expect(d.observe('a', 'b.example', 'allow')).toBeNull();
  });

  it('forgets new hosts older than a minute', () => {
    const c = clock();
    const d = createAnomalyDetector({ newHostsPerMinute: 2 }, c.now);
    d.observe('a', 'h1', 'allow');
    d.observe('a', 'h2', 'allow');
    c.advance(60_000);
    expect(d.observe('a', 'h3', 'allow')).toBeNull();
  });

  it('alerts on many denials, once per minute, per agent', () => {
    const c = clock();
    const d = createAnomalyDetector({ deniesPerMinute: 3 }, c.now);
    for (let i = 0; i < 3; i++) expect(d.observe('a', 'blocked.example', 'deny')).toBeNull();
    expect(d.observe('a', 'blocked.example', 'allow')).toBeNull();
    expect(d.observe('a', 'blocked.example', 'deny')).toBe(ALERT_KIND.denies);
    expect(d.observe('a', 'blocked.example', 'deny')).toBeNull();
    expect(d.observe('b', 'blocked.example', 'deny')).toBeNull();
    c.advance(60_000);
    for (let i = 0; i < 3; i++) d.observe('a', 'blocked.example', 'deny');
    expect(d.observe('a', 'blocked.example', 'deny')).toBe(ALERT_KIND.denies);
  });

  it('with no thresholds set, never alerts', () => {
    const d = createAnomalyDetector({});
    for (let i = 0; i < 1000; i++) expect(d.observe('a', `h${i}`, 'deny')).toBeNull();
  });
});
