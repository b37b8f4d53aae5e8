// The machine the numbers came from, and the reference limits: one core's AEAD throughput (openssl speed)
// and raw loopback TCP throughput (measured by the load client against the upstream's TCP sink).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly os: string;
  readonly loadAverageAtStart: readonly number[];
  readonly versions: Record<string, string>;
}

function firstLine(cmd: string, args: readonly string[]): string {
  try {
    const out = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: 20_000 });
    if (out.error) return 'not installed';
    return `${out.stdout}\n${out.stderr}`.split('\n').find((l) => l.trim().length > 0)?.trim() ?? '';
  } catch {
    return 'not installed';
  }
}

export function describeMachine(): Machine {
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]+)/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    // keep os.type()
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: os.release(),
    os: osName,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    versions: {
      nginx: firstLine('/usr/sbin/nginx', ['-v']),
      squid: firstLine('/usr/sbin/squid', ['-v']),
      tinyproxy: firstLine('/usr/bin/tinyproxy', ['-v']),
      mitmproxy: firstLine('/usr/bin/mitmdump', ['--version']),
      openssl: firstLine('openssl', ['version']),
      hey: firstLine('dpkg-query', ['-W', '-f', '${Version}', 'hey']),
    },
  };
}

/** Bytes per second of one openssl speed run on one core (16 KiB blocks, the TLS record size). */
export function opensslSpeed(cipher: 'aes-128-gcm' | 'chacha20-poly1305', seconds: number): number {
  try {
    const out = execFileSync('openssl', ['speed', '-mr', '-seconds', String(seconds), '-bytes', '16384', '-evp', cipher], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: (seconds + 20) * 1000,
    });
    const line = out.split('\n').find((l) => l.startsWith('+F:'));
    return line ? Number(line.split(':')[3]) : NaN;
  } catch {
    return NaN;
  }
}
