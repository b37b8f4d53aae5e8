// The frame of a bench script that starts processes in a scratch directory: every process it started is stopped
// by its PID and the directory removed however the script ends, and an error is printed with exit code 1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProcSet } from './procs.ts';

export function runInScratchDir(prefix: string, procs: ProcSet, body: (dir: string) => Promise<void>): void {
  const run = async (): Promise<void> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    // Readable by the proxies that drop privileges (squid runs as `proxy`) and read their files from here.
    fs.chmodSync(dir, 0o755);
    try {
      await body(dir);
    } finally {
      await procs.stopAll();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  run().catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
