// A bulk download through a blind tunnel, as an agent cloning a repository or pulling an image would do it:
// Sluice relays the upstream's bytes through reused read buffers, so a client that reads slowly (the relay's
// writes queue behind it) must still get every byte, in order, and the audit line must count them.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type tls from 'node:tls';
import { makeTestCa } from '../../helpers/certs.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { startTestSluice, eventually, type TestSluice } from '../../helpers/sluice.ts';
import { rawExchange, connectRequest, tlsOver } from '../../helpers/clients.ts';

const BODY = crypto.randomBytes(24 << 20);
const BODY_SHA = crypto.createHash('sha256').update(BODY).digest('hex');

/** Read one HTTP/1.1 response with Content-Length; pausing now and then keeps Sluice's writes queued. */
function readResponse(t: tls.TLSSocket, slowly: boolean): Promise<{ status: string; sha: string; length: number }> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let want = -1;
    let got = 0;
    let status = '';
    const hash = crypto.createHash('sha256');
    let reads = 0;
    t.on('data', (d: Buffer) => {
      if (want < 0) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const text = head.subarray(0, end).toString('latin1');
        status = text.split('\r\n')[0]!;
        want = Number(/content-length: (\d+)/i.exec(text)![1]);
        d = head.subarray(end + 4);
      }
      hash.update(d);
      got += d.length;
      if (slowly && ++reads % 5 === 0) {
        t.pause();
        setTimeout(() => t.resume(), 2);
      }
      if (got >= want) resolve({ status, sha: hash.digest('hex'), length: got });
    });
    t.once('error', reject);
  });
}

describe('blind tunnel bulk transfer', () => {
  let ca: ReturnType<typeof makeTestCa>;
  let up: TestUpstream;
  let s: TestSluice;

  beforeAll(async () => {
    ca = makeTestCa();
    up = await startUpstream({
      tls: ca.issue(['bulk.allowed.test']),
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
        res.end(BODY);
      },
    });
    s = await startTestSluice({ names: ['bulk.allowed.test'], trustCa: [ca.caPath], policy: { hosts: [{ host: 'bulk.allowed.test', ports: [up.port], mode: 'tunnel' }] } });
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  let transfers = 0;
  for (const slowly of [true, false]) {
    it(`24 MiB arrive intact to a client that reads ${slowly ? 'slowly' : 'at full speed'}, and the audit line counts them`, async () => {
      const c = await rawExchange(s.port, connectRequest(`bulk.allowed.test:${up.port}`));
      expect(c.status).toBe(200);
      const t = await tlsOver(c.socket, 'bulk.allowed.test', ca.caPem);
      const response = readResponse(t, slowly);
      t.write('GET /bulk HTTP/1.1\r\nHost: bulk.allowed.test\r\nConnection: close\r\n\r\n');
      const r = await response;
      t.destroy();
      expect(r.status).toBe('HTTP/1.1 200 OK');
      expect(r.length).toBe(BODY.length);
      expect(r.sha).toBe(BODY_SHA);
      transfers++;
      // One audit line per closed tunnel, counting the TLS records around the body as well.
      const lines = await eventually(() => {
        const found = s.audit().filter((l) => l['decision'] === 'tunnel' && Number(l['bytesOut']) > BODY.length);
        return found.length >= transfers ? found : undefined;
      });
      expect(lines).toHaveLength(transfers);
    });
  }
});
