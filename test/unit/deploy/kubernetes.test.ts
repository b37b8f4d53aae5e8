// The Kubernetes manifests, checked against k8s-subset.schema.json (a JSON Schema for the part of the API
// they use, plus Sluice's hardening rules) and against each other: mounts name volumes, selectors select,
// the agent never mounts a secret, the embedded Sluice config and policies load with Sluice's own loaders.
// No kubeconform or kubeval is packaged for Debian or npm here, hence the schema.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allContainers, checkSluiceConfig, isSluiceStart, k8sManifests, K8S_DIR, podSpec, readDocs, validateK8s, type Doc } from './helpers.ts';

const manifests = k8sManifests();
const inDir = (variant: string) => manifests.filter((m) => m.file.includes(`${path.sep}${variant}${path.sep}`)).map((m) => m.doc);
const byKind = (docs: Doc[], kind: string) => docs.filter((d) => d.kind === kind);
const named = (docs: Doc[], kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
const clone = (d: Doc): Doc => structuredClone(d);
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Objects the docs tell the operator to create out of band (never committed with values). */
const EXTERNAL = { Secret: ['sluice-secrets', 'sluice-ca'], ConfigMap: ['sluice-ca-cert'] } as const;

describe('kubernetes manifests: schema', () => {
  it('has both variants', () => {
    expect(inDir('sidecar').length).toBeGreaterThan(3);
    expect(inDir('standalone').length).toBeGreaterThan(5);
  });

  it.each(manifests.map((m) => [`${path.relative(K8S_DIR, m.file)} ${m.doc.kind}/${m.doc.metadata?.name ?? ''}`, m.doc] as const))(
    '%s conforms',
    (_label, doc) => {
      expect(validateK8s(doc)).toEqual([]);
    },
  );

  const deployment = named(inDir('sidecar'), 'Deployment', 'agent-with-sluice')!;
  const mutations: [string, (d: Doc) => void][] = [
    ['a writable root filesystem', (d) => void (d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false)],
    ['a container without resources', (d) => void delete d.spec.template.spec.containers[0].resources],
    ['a container without limits', (d) => void delete d.spec.template.spec.containers[0].resources.limits],
    ['a :latest image', (d) => void (d.spec.template.spec.containers[0].image = 'sluice:latest')],
    ['an untagged image', (d) => void (d.spec.template.spec.containers[0].image = 'sluice')],
    ['privilege escalation', (d) => void (d.spec.template.spec.initContainers[1].securityContext.allowPrivilegeEscalation = true)],
    ['capabilities kept', (d) => void (d.spec.template.spec.initContainers[1].securityContext.capabilities.drop = ['NET_RAW'])],
    ['runAsNonRoot missing', (d) => void delete d.spec.template.spec.securityContext.runAsNonRoot],
    ['root uid', (d) => void (d.spec.template.spec.securityContext.runAsUser = 0)],
    ['a misspelt key', (d) => void (d.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true)],
    ['a subPath mount (never sees ConfigMap updates)', (d) => void (d.spec.template.spec.initContainers[1].volumeMounts[1].subPath = 'github.yaml')],
    ['a probe on /metrics', (d) => void (d.spec.template.spec.initContainers[1].readinessProbe.httpGet.path = '/metrics')],
    ['a service account token', (d) => void (d.spec.template.spec.automountServiceAccountToken = true)],
    ['a hostPath volume', (d) => d.spec.template.spec.volumes.push({ name: 'host', hostPath: { path: '/' } })],
  ];
  it.each(mutations)('rejects %s', (_name, mutate) => {
    expect(validateK8s(deployment)).toEqual([]);
    const d = clone(deployment);
    mutate(d);
    expect(validateK8s(d)).not.toEqual([]);
  });

  it('rejects a NetworkPolicy that does not govern egress, and an unknown kind', () => {
    const np = clone(byKind(inDir('standalone'), 'NetworkPolicy')[0]!);
    np.spec.policyTypes = ['Ingress'];
    expect(validateK8s(np)).not.toEqual([]);
    expect(validateK8s({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } })).not.toEqual([]);
  });
});

describe('kubernetes manifests: wiring', () => {
  for (const variant of ['sidecar', 'standalone']) {
    const docs = inDir(variant);
    const deployments = byKind(docs, 'Deployment');

    it(`${variant}: every mount names a volume, and every referenced ConfigMap/Secret exists or is documented as external`, () => {
      for (const d of deployments) {
        const spec = podSpec(d)!;
        const volumes = new Map<string, Doc>(spec.volumes.map((v: Doc) => [v.name, v]));
        for (const c of allContainers(spec)) for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${c.name}: ${m.name}`).toBe(true);
        for (const v of volumes.values()) {
          if (v.configMap) expect(named(docs, 'ConfigMap', v.configMap.name) ?? (EXTERNAL.ConfigMap as readonly string[]).includes(v.configMap.name)).toBeTruthy();
          if (v.secret) expect((EXTERNAL.Secret as readonly string[]).includes(v.secret.secretName)).toBe(true);
        }
        expect(d.spec.selector.matchLabels).toSatisfy((sel: Record<string, string>) => matches(sel, d.spec.template.metadata.labels));
      }
    });

    it(`${variant}: Sluice has startup, liveness (/healthz) and readiness (/readyz) probes on its admin port`, () => {
      const sluices = deployments.flatMap((d) => allContainers(podSpec(d)!).filter(isSluiceStart));
      expect(sluices.length).toBe(1);
      const s = sluices[0]!;
      expect(s.livenessProbe.httpGet.path).toBe('/healthz');
      expect(s.readinessProbe.httpGet.path).toBe('/readyz');
      expect(s.startupProbe.httpGet.path).toBe('/healthz');
      expect(s.ports.find((p: Doc) => p.name === 'admin').containerPort).toBe(9090);
    });

    it(`${variant}: only Sluice mounts the secrets and the CA key; agents get the certificate alone`, () => {
      for (const d of deployments) {
        const spec = podSpec(d)!;
        const secretVolumes = new Set(spec.volumes.filter((v: Doc) => v.secret || v.name === 'sluice-state').map((v: Doc) => v.name));
        for (const c of allContainers(spec)) {
          const mounted = (c.volumeMounts ?? []).filter((m: Doc) => secretVolumes.has(m.name));
          if (c.name === 'agent') expect(mounted).toEqual([]);
          if (c.name === 'agent') expect(c.env.find((e: Doc) => e.name === 'NODE_EXTRA_CA_CERTS')?.value).toBe('/etc/sluice-ca/ca.pem');
        }
      }
    });

    it(`${variant}: the Sluice config and policies in the ConfigMaps load with Sluice's own loaders`, () => {
      const config = named(docs, 'ConfigMap', 'sluice-config')!;
      const policies = named(docs, 'ConfigMap', 'sluice-policies')!;
      expect(checkSluiceConfig(config.data['sluice.yaml'], policies.data)).toEqual([]);
      const sluice = deployments.flatMap((d) => allContainers(podSpec(d)!)).find(isSluiceStart)!;
      const mount = sluice.volumeMounts.find((m: Doc) => m.name === 'sluice-policies');
      expect(config.data['sluice.yaml']).toContain(`policies: ${mount.mountPath}`);
    });

    it(`${variant}: the kustomization lists files that exist`, () => {
      const file = path.join(K8S_DIR, variant, 'kustomization.yaml');
      const [k] = readDocs(file);
      for (const r of k!.resources) expect(fs.existsSync(path.join(K8S_DIR, variant, r)), r).toBe(true);
    });
  }

  it('sidecar: Sluice is a native sidecar sharing the socket emptyDir with the agent', () => {
    const spec = podSpec(named(inDir('sidecar'), 'Deployment', 'agent-with-sluice')!)!;
    const sluice = spec.initContainers.find(isSluiceStart);
    expect(sluice.restartPolicy).toBe('Always');
    const agent = spec.containers.find((c: Doc) => c.name === 'agent');
    const socketVolume = spec.volumes.find((v: Doc) => v.name === 'sluice-socket');
    expect(socketVolume.emptyDir).toBeDefined();
    expect(sluice.volumeMounts.find((m: Doc) => m.name === 'sluice-socket').mountPath).toBe('/run/sluice');
    expect(agent.volumeMounts.find((m: Doc) => m.name === 'sluice-socket')).toMatchObject({ mountPath: '/run/sluice', readOnly: true });
    expect(agent.args.join(' ')).toContain('bridge --listen 127.0.0.1:3128 --socket /run/sluice/proxy.sock');
    expect(named(inDir('sidecar'), 'ConfigMap', 'sluice-config')!.data['sluice.yaml']).toContain('unix:/run/sluice/proxy.sock');
  });

  it('standalone: the agent may reach only Sluice port 3128 and DNS; the Service selects the Sluice Pods', () => {
    const docs = inDir('standalone');
    const agentPod = named(docs, 'Deployment', 'agent')!.spec.template.metadata.labels;
    const sluicePod = named(docs, 'Deployment', 'sluice')!.spec.template.metadata.labels;
    const policy = byKind(docs, 'NetworkPolicy').find((p) => matches(p.spec.podSelector.matchLabels, agentPod))!;
    expect(policy.spec.policyTypes).toContain('Egress');
    expect(policy.spec.egress).toHaveLength(2);
    const [toSluice, toDns] = policy.spec.egress;
    expect(matches(toSluice.to[0].podSelector.matchLabels, sluicePod)).toBe(true);
    expect(toSluice.ports).toEqual([{ protocol: 'TCP', port: 3128 }]);
    expect(toDns.ports.map((p: Doc) => p.port)).toEqual([53, 53]);
    for (const rule of policy.spec.egress) for (const peer of rule.to) expect(peer.ipBlock).toBeUndefined();
    // Near miss: the Sluice Pods themselves are not caught by the agent policy.
    expect(matches(policy.spec.podSelector.matchLabels, sluicePod)).toBe(false);
    const service = named(docs, 'Service', 'sluice')!;
    expect(matches(service.spec.selector, sluicePod)).toBe(true);
    expect(service.spec.ports.map((p: Doc) => p.port)).toEqual([3128, 9090]);
  });

  it('no NetworkPolicy lets Sluice reach private or metadata ranges', () => {
    for (const np of manifests.filter((m) => m.doc.kind === 'NetworkPolicy').map((m) => m.doc)) {
      for (const rule of np.spec.egress) {
        for (const peer of rule.to ?? []) {
          if (!peer.ipBlock) continue;
          expect(peer.ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16']));
        }
      }
    }
  });
});
