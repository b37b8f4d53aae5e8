// `sluice bridge --listen 127.0.0.1:3128 --socket PATH`: run inside the agent container.
import pino from 'pino';
import { createLogger } from '../audit/index.ts';
import { BridgeError, startBridge } from '../net/bridge.ts';
import { parseCommandArgs } from './args.ts';

export const usage = `Usage: sluice bridge --socket PATH [--listen 127.0.0.1:3128]

Inside an agent container with no network (docker run --network none), relay TCP connections from a
loopback address to the proxy's unix socket mounted into the container, so that ordinary clients can use
HTTPS_PROXY=http://127.0.0.1:3128. Only loopback listen addresses are accepted.

Options:
  --socket PATH      the proxy's unix socket (a "unix:" listener of sluice start)
  --listen HOST:PORT loopback address to accept on (default 127.0.0.1:3128; port 0 picks one)
`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, { listen: { type: 'string' }, socket: { type: 'string' } }, usage);
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const socket = values['socket'];
  const listen = typeof values['listen'] === 'string' ? values['listen'] : '127.0.0.1:3128';
  if (typeof socket !== 'string' || socket === '' || positionals.length > 0) {
    process.stderr.write(`sluice bridge: ${positionals.length > 0 ? `unexpected argument "${positionals[0]}"` : '--socket PATH is required'}\n\n${usage}`);
    return 2;
  }
  // Synchronous writes: the "listening" line is what a supervisor waits for, and it must not sit in a buffer.
  const log = createLogger('info', pino.destination({ dest: 1, sync: true }));
  let bridge;
  try {
    bridge = await startBridge({ listen, socket }, log);
  } catch (e) {
    if (!(e instanceof BridgeError)) throw e;
    process.stderr.write(`sluice bridge: ${e.message}\n`);
    return 1;
  }
  log.info({ listen: bridge.address, socket }, 'bridge listening');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await bridge.close();
  log.info({ signal }, 'bridge stopped');
  return 0;
}
