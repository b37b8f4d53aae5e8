// `sluice ca init|show`: create Sluice's CA, print it, or print the environment an agent needs to trust it.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import { CaError, loadOrCreateCa, type CertificateAuthority } from '../tls/index.ts';
import { CONFIG_OPTION, configPath, parseCommandArgs } from './args.ts';

export const usage = `Usage: sluice ca init [--config FILE]
       sluice ca show [--config FILE]
       sluice ca show --env [--path FILE]

  init         create the CA under stateDir if it does not exist yet (or check the configured ca.cert/ca.key);
               prints the certificate's path
  show         print the CA certificate (PEM) for agents to trust, creating it first if missing
  show --env   print the environment lines that point an agent's tools at the proxy and the CA, with the CA
               mounted at --path (default /etc/sluice/ca.pem). SSL_CERT_FILE replaces the system bundle for
               OpenSSL-based tools: if some hosts use mode "tunnel", mount a bundle of the system CAs plus
               Sluice's CA at --path instead of the CA alone.
`;

const DEFAULT_AGENT_CA_PATH = '/etc/sluice/ca.pem';
const PROXY_URL = 'http://127.0.0.1:3128';

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { ...CONFIG_OPTION, env: { type: 'boolean' }, path: { type: 'string' } }, usage);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const problem = argumentProblem(positionals, values);
  if (problem !== null) {
    process.stderr.write(`sluice ca: ${problem}\n\n${usage}`);
    return 2;
  }
  const sub = positionals[0];
  const wantsEnv = values['env'] === true;
  if (wantsEnv) {
    const caPath = typeof values['path'] === 'string' ? values['path'] : DEFAULT_AGENT_CA_PATH;
    process.stdout.write(agentEnvironment(caPath).join('\n') + '\n');
    return 0;
  }
  try {
    const { file, explicit } = configPath(values);
    const config = loadConfig(file, { required: explicit });
    const existed = config.ca.cert !== null || fs.existsSync(path.join(config.stateDir, 'ca.pem'));
    const ca = await loadOrCreateCa({ stateDir: config.stateDir, certPath: config.ca.cert, keyPath: config.ca.key, create: true });
    if (sub === 'init') {
      process.stderr.write(`${existed ? 'CA already exists' : 'created CA'} (SHA-256 ${ca.fingerprint256})\n`);
      process.stdout.write(`${ca.certPath}\n`);
    } else {
      process.stdout.write(pem(ca));
    }
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof CaError) {
      process.stderr.write(`sluice ca: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function argumentProblem(positionals: string[], values: Record<string, unknown>): string | null {
  const [sub, ...extra] = positionals;
  if (sub === undefined) return 'missing subcommand (init or show)';
  if (sub !== 'init' && sub !== 'show') return `unknown subcommand "${sub}"`;
  if (extra.length > 0) return `unexpected argument "${extra[0]}"`;
  if (values['env'] === true && sub !== 'show') return '--env goes with "show"';
  if (values['path'] !== undefined && values['env'] !== true) return '--path goes with --env';
  return null;
}

function pem(ca: CertificateAuthority): string {
  return ca.certPem.endsWith('\n') ? ca.certPem : `${ca.certPem}\n`;
}

/**
 * KEY=value lines (docker --env-file format) covering how each common runtime finds its CA bundle and
 * proxy. curl reads only the lower-case http_proxy (CGI "httpoxy", CVE-2016-5385), other tools only the
 * upper-case names, so both spellings are set. NO_PROXY is emptied so that nothing bypasses the proxy.
 */
export function agentEnvironment(caPath: string): string[] {
  return [
    `SSL_CERT_FILE=${caPath}`,
    `NODE_EXTRA_CA_CERTS=${caPath}`,
    `REQUESTS_CA_BUNDLE=${caPath}`,
    `CURL_CA_BUNDLE=${caPath}`,
    `GIT_SSL_CAINFO=${caPath}`,
    `DENO_CERT=${caPath}`,
    `HTTPS_PROXY=${PROXY_URL}`,
    `HTTP_PROXY=${PROXY_URL}`,
    `https_proxy=${PROXY_URL}`,
    `http_proxy=${PROXY_URL}`,
    'NO_PROXY=',
    'no_proxy=',
    'NODE_USE_ENV_PROXY=1',
  ];
}
