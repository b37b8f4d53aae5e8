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

  // A full load: read, parse, validate and compile every file (startup, or a reload after a ConfigMap swap that
  // rewrites every file).
  const cold = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const r = loadPolicy(dir, OPTIONS);
    if (!r.ok) throw new Error(JSON.stringify(r.problems.slice(0, 3)));
    cold.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  // A reload after one file of ten changed (the store re-parses only changed files, recompiles everything).
  const store = PolicyStore.open(dir, OPTIONS, createLogger('silent'), { watch: false });
  const edited = path.join(dir, 'p3.yaml');
  const original = fs.readFileSync(edited, 'utf8');
  const warm = [];
  for (let i = 0; i < 10; i++) {
    fs.writeFileSync(edited, `${original}  - host: edit${i}.example.com\n`);
    const t0 = process.hrtime.bigint();
    if (!store.reload()) throw new Error('reload failed');
    warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  store.close();

  const policy = store.current();
  const q = (host, method, p, agent = 'default', port = 443) => ({ agent, host, port, method, path: p, scheme: 'https' });
  const queries = [
    q('api500.example.com', 'GET', '/repos/acme/app/pulls/12'), // exact, allowed by a glob
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
  const c0 = process.cpuUsage();
  let allowed = 0;
  for (let i = 0; i < iterations; i++) if (policy.decide(queries[i % queries.length]).verdict === 'allow') allowed++;
  const cpu = process.cpuUsage(c0);
  const wallNs = Number(process.hrtime.bigint() - t0) / iterations;
  const cpuNs = ((cpu.user + cpu.system) * 1000) / iterations;

  const stat = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[s.length >> 1].toFixed(1)} ms (min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)}, ${s.length} runs)`;
  };
  const [load1] = os.loadavg();
  console.log(`policy: ${policy.entryCount} host entries in ${FILES} files; machine load average ${load1.toFixed(1)} on ${os.availableParallelism()} CPUs`);
  console.log(`full load (every file parsed): ${stat(cold)}`);
  console.log(`reload after editing one file: ${stat(warm)}`);
  console.log(`decide: ${cpuNs.toFixed(0)} ns CPU per call, ${wallNs.toFixed(0)} ns wall (mix of ${queries.length} queries: ${verdicts}; ${allowed} allowed of ${iterations})`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
