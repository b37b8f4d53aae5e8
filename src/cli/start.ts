// `sluice start`: run the proxy until SIGTERM/SIGINT (drain, exit 0); SIGHUP reloads the policy.
import { loadConfig } from '../config/index.ts';
import { ConfigError } from '../errors.ts';
import { startSluice } from '../server.ts';
import { CONFIG_OPTION, configPath, parseCommandArgs } from './args.ts';

export const usage = `Usage: sluice start [--config FILE]

Runs the proxy. Logs JSON lines to stdout (one "listening" line once every listener accepts, then one
"request" line per exchange). SIGTERM or SIGINT drains requests in flight and exits 0; SIGHUP reloads policies.
Without --config, ./sluice.yaml is used if present, else the defaults (127.0.0.1:3128, policies/, .sluice/).
`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, CONFIG_OPTION, usage);
  if (!parsed) return 2;
  if (parsed.positionals.length > 0) {
    process.stderr.write(`sluice start: unexpected argument "${parsed.positionals[0]}"\n\n${usage}`);
    return 2;
  }
  const { file, explicit } = configPath(parsed.values);
  // Handlers go in before anything is bound: a supervisor may send SIGTERM as soon as it reads the "listening"
  // line, which is written before startSluice returns. A signal during start-up drains once start-up is done;
  // a second one (the handlers are once-only) ends the process at once, as before.
  const stopSignal = new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  let sluice;
  try {
    const config = loadConfig(file, { required: explicit });
    sluice = await startSluice(config);
  } catch (e) {
    process.stderr.write(`sluice start: ${e instanceof ConfigError ? `invalid configuration\n${e.message}` : (e as Error).message}\n`);
    return 1;
  }
  printClientHint(sluice.listeners, sluice.ca.certPath);
  process.on('SIGHUP', () => sluice.policy.reload());
  await stopSignal;
  await sluice.close();
  return 0;
}

/** Human guidance goes to stderr so stdout stays one JSON object per line. */
function printClientHint(listeners: ReadonlyArray<{ tcp: string } | { unix: string }>, caPath: string): void {
  const tcp = listeners.find((l): l is { tcp: string } => 'tcp' in l)?.tcp;
  const unix = listeners.find((l): l is { unix: string } => 'unix' in l)?.unix;
  const lines = ['', 'Sluice is running. Point a client at it:'];
  if (tcp) {
    lines.push(`  export HTTPS_PROXY=http://${tcp} HTTP_PROXY=http://${tcp}`);
    lines.push(`  curl --cacert ${caPath} https://registry.npmjs.org/sluice`);
  }
  if (unix) lines.push(`  curl --unix-socket ${unix} --proxy http://localhost --cacert ${caPath} https://api.github.com/zen`);
  lines.push(`  Trust the CA for other clients: SSL_CERT_FILE / NODE_EXTRA_CA_CERTS / REQUESTS_CA_BUNDLE=${caPath}`, '');
  process.stderr.write(lines.join('\n') + '\n');
}
