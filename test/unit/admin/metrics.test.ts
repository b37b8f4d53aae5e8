import { describe, expect, it } from 'vitest';
import type { ExchangeRecord } from '../../../src/audit/record.ts';
import { FAMILIES } from './families.ts';
import { createMetrics, DENIED_HOST_LABEL, MAX_LABEL_VALUES, OTHER_LABEL, hostLabel } from '../../../src/audit/metrics.ts';

function exchange(over: Partial<ExchangeRecord> = {}): ExchangeRecord {
  return {
    decision: 'allow',
    agent: 'default',
    method: 'GET',
    host: 'api.github.com',
    port: 443,
    path: '/user',
    status: 200,
    bytesIn: 10,
    bytesOut: 300,
    durationMs: 12,
    credential: 'GITHUB_TOKEN',
    findings: [],
    reason: 'allowed by policies/github.yaml entry 0',
    rule: 'api.github.com',
    ...over,
  };
}


describe('metrics', () => {
  it('exposes every family with the values recorded', async () => {
    const m = createMetrics();
    m.recordExchange(
      exchange({ decision: 'redact', findings: [{ rule: 'pii.email', kind: 'email', location: 'body', action: 'redact' }] }),
      { decisionMs: 0.2, upstreamMs: 40, guardMs: 1.5 },
    );
    m.connectionOpened();
    m.tunnelOpened('inspect');
    m.tunnelOpened('tunnel');
    m.tunnelClosed('tunnel');
    m.leafMinted();
    m.setLeafCacheSize(() => 7);
    m.policyReload('ok');
    m.policyReload('failed');
    m.secretFetch('file', 'ok');
    m.rateLimited('agent_requests');
    m.alert('new_hosts');
    const text = await m.registry.metrics();
    for (const family of FAMILIES) expect(text).toContain(`# TYPE ${family} `);
    expect(text).toContain('sluice_requests_total{decision="redact",host="api.github.com",status="200"} 1');
    expect(text).toContain('sluice_bytes_in_total{host="api.github.com"} 10');
    expect(text).toContain('sluice_bytes_out_total{host="api.github.com"} 300');
    expect(text).toContain('sluice_guard_findings_total{rule="pii.email",action="redact"} 1');
    expect(text).toContain('sluice_open_tunnels{mode="inspect"} 1');
    expect(text).toContain('sluice_open_tunnels{mode="tunnel"} 0');
    expect(text).toContain('sluice_tunnels_total{mode="tunnel"} 1');
    expect(text).toContain('sluice_open_connections 1');
    expect(text).toContain('sluice_leaf_cache_size 7');
    expect(text).toContain('sluice_leaf_certificates_minted_total 1');
    expect(text).toContain('sluice_policy_reloads_total{result="failed"} 1');
    expect(text).toContain('sluice_secret_fetches_total{backend="file",result="ok"} 1');
    expect(text).toContain('sluice_rate_limited_total{kind="agent_requests"} 1');
    expect(text).toContain('sluice_alerts_total{kind="new_hosts"} 1');
    expect(text).toContain('sluice_upstream_duration_seconds_bucket{le="0.05"} 1');
    expect(text).toContain('sluice_request_duration_seconds_count{decision="redact"} 1');
  });

  it('keeps two instances apart (no global registry)', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.recordExchange(exchange());
    expect(await a.registry.metrics()).toContain('sluice_requests_total{decision="allow"');
    expect(await b.registry.metrics()).not.toContain('sluice_requests_total{decision="allow"');
  });

  it('labels a denied request "denied", never with the host the agent asked for', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.recordExchange(exchange({ decision: 'deny', host: 'exfil-4f2a.attacker.example', rule: null, status: 403 }));
    const text = await m.registry.metrics();
    expect(text).not.toContain('attacker.example');
    expect(text).toContain(`sluice_requests_total{decision="deny",host="${DENIED_HOST_LABEL}",status="403"} 1`);
  });

  it('labels an allowed request by the matched pattern, not the subdomain requested', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.recordExchange(exchange({ host: 'a1b2.s3.amazonaws.com', rule: '*.s3.amazonaws.com' }));
    const text = await m.registry.metrics();
    expect(text).toContain('host="*.s3.amazonaws.com"');
    expect(text).not.toContain('a1b2');
    expect(hostLabel({ decision: 'error' })).toBe('unmatched');
    expect(hostLabel({ decision: 'allow', rule: '/etc/sluice/policies/github.yaml:12' })).toBe('github.yaml:12');
    expect(hostLabel({ decision: 'allow', rule: 'C:\\sluice\\policies\\gh.yaml:3' })).toBe('gh.yaml:3');
    expect(hostLabel({ decision: 'allow', rule: 'github.yaml:12' })).toBe('github.yaml:12');
    expect(hostLabel({ decision: 'allow', rule: 'policies/gh.yaml:3', hostPattern: '*.github.com' })).toBe('*.github.com');
    expect(hostLabel({ decision: 'deny', rule: 'policies/gh.yaml:3', hostPattern: '*.github.com' })).toBe('denied');
  });

  it('caps label cardinality even if the lead passes unbounded values', async () => {
    const m = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < MAX_LABEL_VALUES + 50; i++) m.recordExchange(exchange({ rule: `h${i}.example` }));
    const text = await m.registry.metrics();
    const hosts = new Set([...text.matchAll(/sluice_requests_total\{[^}]*host="([^"]+)"/g)].map((x) => x[1]));
    expect(hosts.size).toBe(MAX_LABEL_VALUES + 1);
    expect(hosts.has(OTHER_LABEL)).toBe(true);
    // Near miss: a value seen before the cap keeps its own label.
    m.recordExchange(exchange({ rule: 'h0.example' }));
    expect(await m.registry.metrics()).toContain('sluice_requests_total{decision="allow",host="h0.example",status="200"} 2');
  });

  it('never prints a secret value given in a record field it does not label', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.recordExchange(exchange({ credential: 'ghp_SECRETVALUE123', reason: 'ghp_SECRETVALUE123', path: '/?t=ghp_SECRETVALUE123' }));
    expect(await m.registry.metrics()).not.toContain('ghp_SECRETVALUE123');
  });
});
