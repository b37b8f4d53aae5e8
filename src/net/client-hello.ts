// Read the server name (SNI, RFC 6066 §3) from a TLS ClientHello without terminating TLS, so a blind tunnel can
// still refuse domain fronting: CONNECT allowed.test, then SNI blocked.test on a shared CDN (THREATS 2.4).

export type HelloResult =
  | { readonly state: 'incomplete' }
  | { readonly state: 'not-tls' }
  | { readonly state: 'malformed' }
  | { readonly state: 'ok'; readonly sni: string | null };

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
/** A ClientHello larger than one maximal record plus header is not something we wait for. */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

/** Parse the first TLS record of `buf` as a ClientHello. */
export function readClientHello(buf: Buffer): HelloResult {
  if (buf.length < 1) return { state: 'incomplete' };
  if (buf[0] !== HANDSHAKE) return { state: 'not-tls' };
  if (buf.length < 5) return { state: 'incomplete' };
  const recordLength = buf.readUInt16BE(3);
  if (recordLength > 16 * 1024) return { state: 'malformed' };
  if (buf.length < 5 + recordLength) return { state: 'incomplete' };
  const hello = buf.subarray(5, 5 + recordLength);
  try {
    return { state: 'ok', sni: serverName(hello) };
  } catch {
    return { state: 'malformed' };
  }
}

function serverName(h: Buffer): string | null {
  const r = new Reader(h);
  if (r.u8() !== CLIENT_HELLO) throw new Error('not a ClientHello');
  const bodyLength = r.u24();
  // A ClientHello fragmented over several records is legal but rare; we require it whole in the first record.
  if (bodyLength > h.length - 4) throw new Error('fragmented ClientHello');
  r.skip(2 + 32); // legacy_version, random
  r.skip(r.u8()); // session id
  r.skip(r.u16()); // cipher suites
  r.skip(r.u8()); // compression methods
  if (r.remaining() === 0) return null;
  const end = r.pos + r.u16();
  while (r.pos + 4 <= end) {
    const type = r.u16();
    const length = r.u16();
    if (type !== EXT_SERVER_NAME) {
      r.skip(length);
      continue;
    }
    const listEnd = r.pos + r.u16();
    while (r.pos + 3 <= listEnd) {
      const nameType = r.u8();
      const name = r.bytes(r.u16());
      if (nameType === 0) return name.toString('latin1');
    }
    return null;
  }
  return null;
}

class Reader {
  pos = 0;
  readonly #buf: Buffer;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  #need(n: number): void {
    if (this.pos + n > this.#buf.length) throw new Error('truncated');
  }
  u8(): number {
    this.#need(1);
    return this.#buf[this.pos++]!;
  }
  u16(): number {
    this.#need(2);
    const v = this.#buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.#need(3);
    const v = this.#buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const b = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  remaining(): number {
    return this.#buf.length - this.pos;
  }
}
