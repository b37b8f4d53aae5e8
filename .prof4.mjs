import { loadPolicy } from './src/policy/index.ts';
const r = loadPolicy(process.argv[2], { globalAllowPrivate: [], agents: ['default','builder'] });
const policy = r.policy;
const q = (host, method, p, agent = 'default', port = 443) => ({ agent, host, port, method, path: p, scheme: 'https' });
const queries = [
    q('api500.example.com', 'GET', '/repos/acme/app/pulls/12'),
    q('api500.example.com', 'DELETE', '/repos/acme/app'),
    q('api4.example.com', 'GET', '/admin/users'),
    q('a.b.svc501.example.net', 'GET', '/anything'),
    q('build502.example.org', 'GET', '/', 'builder', 8443),
    q('10.1.247.9', 'GET', '/'),
    q('unknown.example.com', 'GET', '/'),
];
for (const x of queries) {
  for (let i=0;i<50000;i++) policy.decide(x);
  const c0 = process.cpuUsage(); const n=300000;
  for (let i=0;i<n;i++) policy.decide(x);
  const c=process.cpuUsage(c0); console.log(x.host, x.method, (c.user+c.system)*1000/n);
}
