// Sluice as a real process (`bin/sluice.js start`), as operators and the contract check run it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const NODE = path.resolve('node_modules/.bin/node');
export const BIN = path.resolve('bin/sluice.js');

export interface SluiceProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  readonly listening: Promise<Record<string, unknown> | null>;
  stderr(): string;
  exit(): Promise<number | null>;
}

export function spawnSluice(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SluiceProcess {
  const child = spawn(NODE, [BIN, ...args], { cwd: options.cwd ?? process.cwd(), env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const listening = new Promise<Record<string, unknown> | null>((resolve) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) {
        const o = JSON.parse(l) as Record<string, unknown>;
        lines.push(o);
        if (o['msg'] === 'listening') resolve(o);
      }
    });
    void exited.then(() => resolve(null));
    setTimeout(() => resolve(null), 20_000).unref();
  });
  return { child, lines, listening, stderr: () => err, exit: () => exited };
}
