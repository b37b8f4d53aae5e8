// Policy benchmark: reload time with 1,000 host entries and decide() cost per call at that size.
// Run: node bench/policy.mjs   (Node 24 strips the types of the imported .ts sources)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/audit/index.ts';
import { PolicyStore, loadPolicy } from '../src/policy/index.ts';

const ENTRIES = 1000;
const FILES = 10;
const OPTIONS = { globalAllowPrivate: [], agents: ['default', 'builder'] };

function entryYaml(i) {
  switch (i % 4) {
    case 0:
      return `  - host: api${i}.example.com\n    allow:\n      - { methods: [GET, POST], paths: ["/repos/**", "/user"] }\n      - { methods: [GET], paths: ["/v${i}/*/items/**"] }\n    deny:\n      - { paths: ["/admin/**"] }\n    credential: { secret: TOKEN_${i} }\n`;
    case 1:
      return `  - host: "*.svc${i}.example.net"\n    allow:\n      - { methods: [GET, HEAD] }\n`;
    case 2:
      return `  - host: build${i}.example.org\n    agents: [builder]\n    ports: [443, 8443]\n`;
    default:
      return `  - host: 10.${(i >> 8) & 255}.${i & 255}.0/24\n`;
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
try {
  const per = ENTRIES / FILES;
  for (let f = 0; f < FILES; f++) {
    let text = 'hosts:\n';
    for (let i = f * per; i < (f + 1) * per; i++) text += entryYaml(i);
    fs.writeFileSync(path.join(dir, `p${f}.yaml`), text);
  }

  // Reload = read, parse, validate and compile every file (what a file change or SIGHUP costs).
  const first = loadPolicy(dir, OPTIONS);
  if (!first.ok) throw new Error(JSON.stringify(first.problems.slice(0, 3)));
  const log = createLogger('silent');
  const store = PolicyStore.open(dir, OPTIONS, log, { watch: false });
  const reloads = 20;
  const times = [];
  for (let i = 0; i < reloads; i++) {
    const t0 = process.hrtime.bigint();
    if (!store.reload()) throw new Error('reload failed');
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  store.close();

  const policy = store.current();
  const q = (host, method, p, agent = 'default', port = 443) => ({ agent, host, port, method, path: p, scheme: 'https' });
  const queries = [
    q('api500.example.com', 'GET', '/repos/acme/app/pulls/12'), // exact, allow via glob
    q('api500.example.com', 'DELETE', '/repos/acme/app'), // exact, no rule matches
    q('api4.example.com', 'GET', '/admin/users'), // deny rule
    q('a.b.svc501.example.net', 'GET', '/anything'), // wildcard
    q('build502.example.org', 'GET', '/', 'builder', 8443), // agents + ports
    q('10.1.247.9', 'GET', '/'), // CIDR among 250
    q('unknown.example.com', 'GET', '/'), // miss
  ];
  const verdicts = queries.map((x) => policy.decide(x).verdict).join(',');
  const iterations = 1_000_000;
  for (let i = 0; i < 100_000; i++) policy.decide(queries[i % queries.length]); // warm up
  const t0 = process.hrtime.bigint();
  let allowed = 0;
  for (let i = 0; i < iterations; i++) if (policy.decide(queries[i % queries.length]).verdict === 'allow') allowed++;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;

  console.log(`policy: ${policy.entryCount} host entries in ${FILES} files`);
  console.log(`reload: median ${times[reloads >> 1].toFixed(1)} ms, min ${times[0].toFixed(1)} ms, max ${times[reloads - 1].toFixed(1)} ms (${reloads} runs)`);
  console.log(`decide: ${ns.toFixed(0)} ns per call (mix of ${queries.length} queries: ${verdicts}; ${allowed} allowed of ${iterations})`);
} finally { if (process.env.KEEP) { console.log(dir); process.exit(0); }
  fs.rmSync(dir, { recursive: true, force: true });
}
