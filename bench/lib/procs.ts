// Child processes for the benchmark: every process is started here, recorded by PID, and stopped by that PID
// (never by name: the machine is shared). /proc sampling gives CPU seconds and peak RSS per process tree.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  exited(): boolean;
}

export interface ProcSet {
  start(name: string, cmd: string, args: readonly string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Proc;
  stop(proc: Proc): Promise<void>;
  stopAll(): Promise<void>;
  /** Runs a short-lived process to completion and returns its stdout; SIGKILLed after timeoutMs. */
  capture(name: string, cmd: string, args: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Long-running processes still recorded. */
  list(): Proc[];
  /** PIDs still running, for the synchronous exit handler. */
  pids(): number[];
}

/** A registry of started processes; stopAll() is called from finally and from the exit/signal handlers. */
export function createProcSet(): ProcSet {
  const live = new Set<Proc>();

  function start(name: string, cmd: string, args: readonly string[], opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string }): Proc {
    const fd = fs.openSync(opts.logFile, 'a');
    const child = spawn(cmd, [...args], { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd() });
    fs.closeSync(fd);
    if (child.pid === undefined) throw new Error(`${name}: spawn of ${cmd} failed`);
    let done = false;
    child.once('exit', () => {
      done = true;
    });
    child.once('error', () => {
      done = true;
    });
    const proc: Proc = { name, pid: child.pid, child, logFile: opts.logFile, exited: () => done };
    live.add(proc);
    return proc;
  }

  async function stop(proc: Proc): Promise<void> {
    live.delete(proc);
    if (proc.exited()) return;
    const gone = new Promise<void>((r) => proc.child.once('exit', () => r()));
    signal(proc.pid, 'SIGTERM');
    // Sluice drains for up to limits.drainTimeoutMs (2 s in the bench config) and then writes any --cpu-prof.
    const timer = setTimeout(() => signal(proc.pid, 'SIGKILL'), 8000);
    await Promise.race([gone, sleep(10_000)]);
    clearTimeout(timer);
  }

  async function stopAll(): Promise<void> {
    await Promise.all([...live].map((p) => stop(p)));
  }

  function capture(name: string, cmd: string, args: readonly string[], timeoutMs: number) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const proc: Proc = { name, pid: child.pid ?? -1, child, logFile: '', exited: () => child.exitCode !== null || child.signalCode !== null };
      live.add(proc);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        stderr += `\n${name}: killed after ${timeoutMs} ms`;
        signal(proc.pid, 'SIGKILL');
      }, timeoutMs);
      child.once('close', (code) => {
        clearTimeout(timer);
        live.delete(proc);
        resolve({ code, stdout, stderr });
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        live.delete(proc);
        resolve({ code: -1, stdout, stderr: stderr + String(e) });
      });
    });
  }

  return { start, stop, stopAll, capture, list: () => [...live], pids: () => [...live].map((p) => p.pid) };
}

/**
 * The command wrapped so that it runs in a private mount namespace with the bench hosts file (and a resolver
 * that points at loopback) bound over /etc: it resolves the bench names, and nothing else leaves the machine.
 * unshare execs sh, which execs the command, so the PID we hold is the command's own.
 */
export function withPrivateResolver(hostsFile: string, cmd: string, args: readonly string[]): [string, string[]] {
  const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const script = `mount --bind ${q(hostsFile)} /etc/hosts && mount --bind ${q(`${hostsFile}.resolv.conf`)} /etc/resolv.conf && exec ${[cmd, ...args].map(q).join(' ')}`;
  return ['unshare', ['-m', 'sh', '-c', script]];
}

/** Synchronous last resort for process 'exit': SIGKILL every PID still recorded. */
export function killSync(pids: readonly number[]): void {
  for (const pid of pids) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or throws after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, proc?: Proc, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.exited()) throw new Error(`${proc.name} exited before listening (see ${proc.logFile})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms${proc ? ` (${proc.name}, see ${proc.logFile})` : ''}`);
}

/** True if host:port can be bound right now. */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A free loopback port (bind to 0, read, close). Racy in theory; fine on a bench machine. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of one process in seconds, or 0 if it is gone. */
function cpuOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The PID and all its descendants (squid's certificate helpers, nginx workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // raced with exit
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** CPU seconds of the whole tree, keyed by PID so a helper that exits between samples is not counted negative. */
export function treeCpu(root: number): Map<number, number> {
  return new Map(processTree(root).map((pid) => [pid, cpuOf(pid)]));
}

export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** VmRSS, VmHWM (peak) and RSS split into anonymous and file pages, of one process in MiB, or null if unreadable. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number; anonMiB: number; fileMiB: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024, anonMiB: kb('RssAnon') / 1024, fileMiB: kb('RssFile') / 1024 };
  } catch {
    return null;
  }
}
