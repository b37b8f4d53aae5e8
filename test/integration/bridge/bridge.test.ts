import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeError, parseLoopbackListen, startBridge, type Bridge } from '../../../src/net/bridge.ts';

let dir: string;
const cleanups: Array<() => Promise<void>> = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-bridge-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await fs.rm(dir, { recursive: true, force: true });
});

/**
 * Stands in for the proxy's unix socket: echoes every byte as it arrives, and when the client half-closes
 * appends "\n#sha256:<hex of everything received>" and ends. So a reply proves both directions carried the
 * bytes intact, and that the client's end arrived as an end while the way back stayed open.
 */
async function echoServer(socketPath: string): Promise<{ connections: number; sockets: Set<net.Socket> }> {
  const state = { connections: 0, sockets: new Set<net.Socket>() };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    state.connections++;
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
    const hash = crypto.createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        cb(null, `\n#sha256:${hash.digest('hex')}`);
      },
    });
    pipeline(socket, tap, socket, () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  cleanups.push(async () => {
    for (const s of state.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return state;
}

async function bridgeTo(socketPath: string, listen = '127.0.0.1:0'): Promise<Bridge> {
  const bridge = await startBridge({ listen, socket: socketPath });
  cleanups.push(() => bridge.close());
  return bridge;
}

function portOf(bridge: Bridge): { host: string; port: number } {
  return parseLoopbackListen(bridge.address);
}

/** Send `payload`, half-close, collect everything until the bridge closes the connection. */
function exchange(bridge: Bridge, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...portOf(bridge), allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
    socket.end(payload);
  });
}

function expectEcho(reply: Buffer, payload: Buffer): void {
  const trailer = `\n#sha256:${crypto.createHash('sha256').update(payload).digest('hex')}`;
  expect(reply.length).toBe(payload.length + trailer.length);
  expect(crypto.createHash('sha256').update(reply.subarray(0, payload.length)).digest('hex')).toBe(
    crypto.createHash('sha256').update(payload).digest('hex'),
  );
  expect(reply.subarray(payload.length).toString()).toBe(trailer);
}

describe('bridge relays TCP to the unix socket', () => {
  it('carries 8 MiB both ways intact, and a half-close still gets the whole answer', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    await echoServer(socketPath);
    const bridge = await bridgeTo(socketPath);
    expect(bridge.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const payload = crypto.randomBytes(8 * 1024 * 1024);
    expectEcho(await exchange(bridge, payload), payload);
  });

  it('keeps 64 concurrent connections apart', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    const echo = await echoServer(socketPath);
    const bridge = await bridgeTo(socketPath);
    const payloads = Array.from({ length: 64 }, (_, i) => crypto.randomBytes(64 * 1024 + i * 997));
    const replies = await Promise.all(payloads.map((p) => exchange(bridge, p)));
    replies.forEach((reply, i) => expectEcho(reply, payloads[i] ?? Buffer.alloc(0)));
    expect(echo.connections).toBe(64);
  });

  it('an empty request with an immediate half-close is relayed as an end', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    await echoServer(socketPath);
    const bridge = await bridgeTo(socketPath);
    expectEcho(await exchange(bridge, Buffer.alloc(0)), Buffer.alloc(0));
  });

  it('the proxy dropping a connection drops the client, and the reverse', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    const echo = await echoServer(socketPath);
    const bridge = await bridgeTo(socketPath);

    const client = net.connect(portOf(bridge));
    client.on('error', () => {});
    client.write('hello');
    await new Promise((resolve) => client.once('data', resolve));
    const closed = new Promise((resolve) => client.once('close', resolve));
    for (const s of echo.sockets) s.destroy();
    await closed;

    const second = net.connect(portOf(bridge));
    second.write('hi');
    await new Promise((resolve) => second.once('data', resolve));
    expect(echo.sockets.size).toBe(1);
    const [upstream] = [...echo.sockets];
    const upstreamClosed = new Promise((resolve) => upstream?.once('close', resolve));
    second.destroy();
    await upstreamClosed;
    expect(echo.sockets.size).toBe(0);
  });

  it('closes the client when the proxy socket is not there, keeps running, and connects once it is', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    const bridge = await bridgeTo(socketPath);
    const client = net.connect(portOf(bridge));
    client.on('error', () => {});
    client.write('GET / HTTP/1.1\r\n\r\n');
    await new Promise((resolve) => client.once('close', resolve));

    await echoServer(socketPath);
    const payload = crypto.randomBytes(1024);
    expectEcho(await exchange(bridge, payload), payload);
  });

  it('close() cuts the connections still open and stops accepting', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    await echoServer(socketPath);
    const bridge = await startBridge({ listen: '127.0.0.1:0', socket: socketPath });
    const target = portOf(bridge);
    const client = net.connect(target);
    client.write('x');
    await new Promise((resolve) => client.once('data', resolve));
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.on('error', () => {});
    await bridge.close();
    await closed;
    const refused = await new Promise<string>((resolve) => {
      const again = net.connect(target);
      again.once('connect', () => resolve('connected'));
      again.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

describe('bridge listens on loopback only', () => {
  // Each refusal must be the loopback rule itself, not a bind failure (10.0.0.1 is not on this machine
  // either, so "cannot listen" would pass for the wrong reason).
  it.each(['0.0.0.0:0', '[::]:0', '10.0.0.1:0', '192.168.1.10:0', '[::ffff:127.0.0.1]:0', '[::ffff:7f00:1]:0', '127.1:0', '[127.0.0.1]:0'])(
    'refuses %s as not loopback',
    async (listen) => {
      await expect(startBridge({ listen, socket: path.join(dir, 'proxy.sock') })).rejects.toThrow(
        `refusing to listen on ${listen}: the bridge listens on a loopback address only`,
      );
    },
  );

  it.each(['::1:0', '127.0.0.1', '127.0.0.1:65536', '127.0.0.1:-1', '127.0.0.1:+80', 'example.test:0', ''])(
    'refuses %j as not HOST:PORT or not an address',
    async (listen) => {
      await expect(startBridge({ listen, socket: path.join(dir, 'proxy.sock') })).rejects.toThrow(BridgeError);
      await expect(startBridge({ listen, socket: path.join(dir, 'proxy.sock') })).rejects.not.toThrow('cannot listen');
    },
  );

  it('names the problem in the error', async () => {
    await expect(startBridge({ listen: '0.0.0.0:3128', socket: 'x' })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0:3128: the bridge listens on a loopback address only/,
    );
  });

  it.each([
    ['127.0.0.1:0', /^127\.0\.0\.1:\d+$/],
    ['127.0.0.2:0', /^127\.0\.0\.2:\d+$/],
    ['localhost:0', /^127\.0\.0\.1:\d+$/],
    ['[::1]:0', /^\[::1\]:\d+$/],
  ])('accepts %s', async (listen, expected) => {
    const socketPath = path.join(dir, 'proxy.sock');
    await echoServer(socketPath);
    const bridge = await bridgeTo(socketPath, listen);
    expect(bridge.address).toMatch(expected);
    const payload = crypto.randomBytes(4096);
    expectEcho(await exchange(bridge, payload), payload);
  });
});

describe('sluice bridge (the CLI as a real process)', () => {
  const bin = fileURLToPath(new URL('../../../bin/sluice.js', import.meta.url));

  it('prints one JSON "bridge listening" line, relays, and exits 0 on SIGTERM', async () => {
    const socketPath = path.join(dir, 'proxy.sock');
    await echoServer(socketPath);
    const child = spawn(process.execPath, [bin, 'bridge', '--listen', '127.0.0.1:0', '--socket', socketPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const firstLine = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: string) => {
        stdout += d;
        const nl = stdout.indexOf('\n');
        if (nl >= 0) resolve(stdout.slice(0, nl));
      });
      child.once('exit', (code) => reject(new Error(`bridge exited ${code} before listening`)));
    });
    const line = JSON.parse(firstLine) as { msg: string; listen: string; socket: string };
    expect(line.msg).toBe('bridge listening');
    expect(line.socket).toBe(socketPath);
    expect(line.listen).toMatch(/^127\.0\.0\.1:\d+$/);

    const payload = crypto.randomBytes(256 * 1024);
    expectEcho(await exchange({ address: line.listen, close: async () => {} }, payload), payload);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('exits 1 with a clear message for a non-loopback address, and 2 without --socket', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [bin, 'bridge', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    const wide = await run(['--listen', '0.0.0.0:3128', '--socket', path.join(dir, 'proxy.sock')]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain('refusing to listen on 0.0.0.0:3128');
    const noSocket = await run(['--listen', '127.0.0.1:0']);
    expect(noSocket.code).toBe(2);
    expect(noSocket.stderr).toContain('--socket PATH is required');
  });
});
