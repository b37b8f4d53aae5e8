// Shared by the deployment tests: read the repository's deploy files, validate Kubernetes documents against
// k8s-subset.schema.json, and check that a Sluice config and its policies load with Sluice's own loaders.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { configSchema } from '../../../src/config/index.ts';
import { loadPolicy, policyLoadOptions } from '../../../src/policy/index.ts';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const K8S_DIR = path.join(ROOT, 'deploy/kubernetes');

export type Doc = Record<string, any>;
export interface Manifest {
  file: string;
  doc: Doc;
}

export function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Every YAML document in a file; a syntax error or a warning (duplicate key…) fails the read. */
export function readDocs(file: string): Doc[] {
  const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'), { uniqueKeys: true, merge: true });
  if (!Array.isArray(docs)) throw new Error(`${file}: empty`);
  return docs.map((d, i) => {
    const problems = [...d.errors, ...d.warnings];
    if (problems.length > 0) throw new Error(`${file} document ${i}: ${problems.map((p) => p.message).join('; ')}`);
    return d.toJS({ maxAliasCount: 50 }) as Doc;
  });
}

export function k8sManifests(): Manifest[] {
  return yamlFiles(K8S_DIR).flatMap((file) => readDocs(file).map((doc) => ({ file, doc })));
}

const schemaJson = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'k8s-subset.schema.json'), 'utf8')) as {
  $defs: Record<string, unknown>;
};
const validators = new Map<string, z.ZodType>();

export function knownKinds(): string[] {
  return Object.keys(schemaJson.$defs).filter((k) => /^[A-Z]/.test(k));
}

/** Problems with a document against the schema for its kind ([] when it conforms). */
export function validateK8s(doc: Doc): string[] {
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  if (!knownKinds().includes(kind)) return [`kind ${JSON.stringify(doc.kind)} has no schema`];
  let v = validators.get(kind);
  if (!v) {
    v = z.fromJSONSchema({ $ref: `#/$defs/${kind}`, $defs: schemaJson.$defs } as never);
    validators.set(kind, v);
  }
  const r = v.safeParse(doc);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

export function podSpec(doc: Doc): Doc | null {
  return doc.kind === 'Deployment' ? (doc.spec?.template?.spec ?? null) : null;
}

export function allContainers(spec: Doc): Doc[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

/** A container running `sluice start`. */
export function isSluiceStart(c: Doc): boolean {
  return Array.isArray(c.args) && c.args[0] === 'start';
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Validate a Sluice config text with the real config schema, and policy files (name -> text) with the real
 * policy loader. Returns the problems, [] when both load.
 */
export function checkSluiceConfig(configText: string, policies: Record<string, string>): string[] {
  const docs = parseAllDocuments(configText);
  const first = Array.isArray(docs) ? docs[0] : undefined;
  const parsed = configSchema.safeParse(first?.toJS() ?? {});
  if (!parsed.success) return parsed.error.issues.map((i) => `config ${i.path.join('.')}: ${i.message}`);
  const dir = tempDir('sluice-policies-');
  try {
    for (const [name, text] of Object.entries(policies)) fs.writeFileSync(path.join(dir, name), text);
    const loaded = loadPolicy(dir, policyLoadOptions(parsed.data));
    return loaded.ok ? [] : loaded.problems.map((p) => `policy ${path.basename(p.file)}:${p.line}:${p.col}: ${p.message}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function policyFilesIn(dir: string): Record<string, string> {
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]),
  );
}
