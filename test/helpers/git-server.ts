// A git smart-HTTP server for tests: node:https in front of the real `git http-backend` CGI program.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type net from 'node:net';
import { pipeline } from 'node:stream';

export interface GitServer {
  readonly port: number;
  readonly repoName: string;
  readonly headCommit: string;
  close(): Promise<void>;
}

export async function startGitServer(tlsOptions: { key: string; cert: string }): Promise<GitServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-git-'));
  const work = path.join(root, 'work');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'pipe', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' } }).toString().trim();
  fs.mkdirSync(work);
  git(work, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(work, 'README.md'), '# served through sluice\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first');
  const headCommit = git(work, 'rev-parse', 'HEAD');
  git(root, 'clone', '-q', '--bare', work, 'repo.git');
  const server = https.createServer(tlsOptions, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      },
    });
    pipeline(req, cgi.stdin, () => undefined);
    let head = Buffer.alloc(0);
    let headerDone = false;
    cgi.stdout.on('data', (d: Buffer) => {
      if (headerDone) {
        res.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const i = head.indexOf('\r\n\r\n');
      if (i < 0) return;
      headerDone = true;
      let status = 200;
      for (const line of head.subarray(0, i).toString().split('\r\n')) {
        const c = line.indexOf(':');
        const name = line.slice(0, c).trim();
        const value = line.slice(c + 1).trim();
        if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(i + 4));
    });
    cgi.stdout.on('end', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    repoName: 'repo.git',
    headCommit,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
