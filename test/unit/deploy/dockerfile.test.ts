// Lint the Dockerfile for the rules hadolint would apply that matter here (DL3000 absolute WORKDIR, DL3002
// last USER not root, DL3006/DL3007 tagged base, no latest, DL3020 COPY not ADD, DL3025 JSON CMD and
// ENTRYPOINT) and for Sluice's own: production dependencies only, read-only-root friendly volumes,
// HEALTHCHECK through node (slim images have no curl), the entrypoint and ports of the contract.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { configSchema } from '../../../src/config/index.ts';
import { finalStage, parseDockerfile, readDockerfile, type Instruction } from './dockerfile.ts';
import { checkSluiceConfig, policyFilesIn, ROOT } from './helpers.ts';

const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const all = readDockerfile(DOCKERFILE);
const final = finalStage(all);
const one = (list: readonly Instruction[], keyword: string) => {
  const found = list.filter((i) => i.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]!;
};

function lint(instructions: readonly Instruction[]): string[] {
  const problems: string[] = [];
  const args = new Map<string, string>();
  for (const i of instructions) {
    if (i.keyword === 'ARG') {
      const [k, v] = i.args.split('=');
      if (k && v) args.set(k, v);
    }
    if (i.keyword === 'FROM') {
      const image = (i.args.split(/\s+/)[0] ?? '').replace(/^\$\{(\w+)\}$/, (_m, k: string) => args.get(k) ?? '');
      if (!/^node:24[\w.-]*-slim$/.test(image)) problems.push(`line ${i.line}: base image ${image} is not a tagged node:24 slim image`);
    }
    if (i.keyword === 'ADD') problems.push(`line ${i.line}: ADD (use COPY)`);
    if (i.keyword === 'WORKDIR' && !i.args.startsWith('/')) problems.push(`line ${i.line}: relative WORKDIR`);
    if ((i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT') && i.exec === null) problems.push(`line ${i.line}: ${i.keyword} not in JSON form`);
    if (i.keyword === 'RUN' && /\b(apt-get|npm) install\b|sudo|curl .*\|\s*sh/.test(i.args)) problems.push(`line ${i.line}: RUN ${i.args}`);
  }
  const users = finalStage(instructions).filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.args ?? 'root';
  if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user)) problems.push(`final USER ${user} is not a numeric non-root uid`);
  if (!instructions.some((i) => i.keyword === 'HEALTHCHECK')) problems.push('no HEALTHCHECK');
  return problems;
}

describe('Dockerfile', () => {
  it('passes the lint rules', () => {
    expect(lint(all)).toEqual([]);
  });

  it.each([
    ['a latest base', (t: string) => t.replace('node:24-bookworm-slim', 'node:latest')],
    ['running as root', (t: string) => t.replace('USER 1000:1000', 'USER root')],
    ['no USER at all', (t: string) => t.replace('USER 1000:1000', '')],
    ['a shell-form ENTRYPOINT', (t: string) => t.replace('ENTRYPOINT ["node", "bin/sluice.js"]', 'ENTRYPOINT node bin/sluice.js')],
    ['ADD', (t: string) => t.replace('COPY --chown=root:root bin ./bin', 'ADD bin ./bin')],
    ['no HEALTHCHECK', (t: string) => t.replace(/HEALTHCHECK[\s\S]*?\n(?=ENTRYPOINT)/, '')],
  ])('the lint fails on %s', (_name, mutate) => {
    const text = fs.readFileSync(DOCKERFILE, 'utf8');
    const mutated = mutate(text);
    expect(mutated).not.toBe(text);
    expect(lint(parseDockerfile(mutated))).not.toEqual([]);
  });

  it('compiles in one stage, installs production dependencies only, from the lockfile, in another', () => {
    expect(all.filter((i) => i.keyword === 'FROM')).toHaveLength(3);
    const installs = all.filter((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    expect(installs.some((i) => /npm ci --omit=dev/.test(i.args))).toBe(true);
    expect(installs.every((i) => i.args.includes('--ignore-scripts'))).toBe(true);
    expect(final.some((i) => i.keyword === 'RUN' && /npm (ci|install)/.test(i.args))).toBe(false);
    expect(final.find((i) => i.keyword === 'COPY' && i.args.includes('--from=deps'))?.args).toContain('/app/node_modules');
    // The image runs the compiled build only: no TypeScript sources, so bin/sluice.js has nothing newer to prefer.
    expect(final.find((i) => i.keyword === 'COPY' && i.args.includes('--from=build'))?.args).toContain('/app/dist ./dist');
    expect(final.some((i) => i.keyword === 'COPY' && /\bsrc\b/.test(i.args))).toBe(false);
  });

  it('runs `sluice start` with the image config, exposes the proxy and admin ports', () => {
    expect(one(final, 'ENTRYPOINT').exec).toEqual(['node', 'bin/sluice.js']);
    expect(one(final, 'CMD').exec).toEqual(['start', '--config', '/etc/sluice/sluice.yaml']);
    expect(one(final, 'EXPOSE').args.split(/\s+/).sort()).toEqual(['3128', '9090']);
    expect(one(final, 'WORKDIR').args).toBe('/app');
  });

  it('checks health with node against /healthz on the admin port', () => {
    const hc = one(final, 'HEALTHCHECK');
    expect(hc.args).toMatch(/^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+\s+CMD \[/);
    expect(hc.exec?.slice(0, 2)).toEqual(['node', '-e']);
    expect(hc.exec?.[2]).toContain("fetch('http://127.0.0.1:9090/healthz')");
  });

  it('keeps state and the socket on volumes owned by the runtime user (read-only root)', () => {
    expect(one(final, 'VOLUME').exec).toEqual(['/var/lib/sluice', '/run/sluice']);
    const prep = final.find((i) => i.keyword === 'RUN' && i.args.includes('mkdir'))!;
    expect(prep.args).toContain('chown 1000:1000 /var/lib/sluice /run/sluice');
    // The code is root's: the runtime user cannot rewrite what it runs.
    for (const copy of final.filter((i) => i.keyword === 'COPY')) expect(copy.args).toContain('--chown=root:root');
  });

  it('copies only what exists and what .dockerignore lets through', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const copy of all.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from'))) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) {
        expect(fs.existsSync(path.join(ROOT, src)), src).toBe(true);
        expect(allowed.some((a) => src === a || src.startsWith(`${a}/`)), `${src} is ignored`).toBe(true);
      }
    }
    expect(allowed).not.toContain('.sluice');
    expect(allowed.some((a) => /secret/i.test(a))).toBe(false);
  });

  it('the image config and default policy load, and put state and socket on the volumes', () => {
    const text = fs.readFileSync(path.join(ROOT, 'deploy/docker/sluice.yaml'), 'utf8');
    expect(checkSluiceConfig(text, policyFilesIn(path.join(ROOT, 'deploy/docker/policies')))).toEqual([]);
    const config = configSchema.parse(parseDocument(text).toJS());
    expect(config.stateDir).toBe('/var/lib/sluice');
    expect(config.listen).toContain('unix:/run/sluice/proxy.sock');
    expect(config.listen).toContain('0.0.0.0:3128');
    expect(config.admin).toBe('0.0.0.0:9090');
    expect(config.policies).toBe('/etc/sluice/policies');
  });
});
