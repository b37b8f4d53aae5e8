// Body decoding for the guard: Content-Encoding (gzip, deflate, br, zstd; at most three layers, output
// capped so a decompression bomb is refused instead of expanded: CVE-2024-22025, CVE-2022-29225) and the
// charset from Content-Type. UTF-8 and unlabelled bodies are scanned in the "byte domain" (latin1 of the
// bytes): offsets are byte offsets and a body without findings passes byte for byte, binary included.
import type { Transform } from 'node:stream';
import { TextDecoder } from 'node:util';
import zlib from 'node:zlib';
import type { BodyFormat } from './edits.ts';

export const MAX_ENCODING_LAYERS = 3;

export interface ContentType {
  readonly mime: string;
  readonly charset: string | null;
  readonly boundary: string | null;
}

export function parseContentType(value: string): ContentType {
  const [type = '', ...params] = value.split(';');
  let charset: string | null = null;
  let boundary: string | null = null;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq === -1) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (k === 'charset') charset = v.toLowerCase();
    if (k === 'boundary') boundary = v;
  }
  return { mime: type.trim().toLowerCase(), charset, boundary };
}

export function bodyFormat(mime: string): BodyFormat {
  if (mime === 'application/json' || mime.endsWith('+json') || mime === 'application/x-ndjson' || mime === 'application/jsonl' || mime === 'application/json-seq' || mime === 'application/x-jsonlines') return 'json';
  if (mime === 'application/x-www-form-urlencoded') return 'form';
  return 'text';
}

export interface TextCodec {
  /** Byte domain: one char per byte, offsets are byte offsets. */
  readonly byteDomain: boolean;
  decode(bytes: Buffer, final: boolean): string;
  encode(text: string): Buffer;
  /** Set when the output is not in the declared charset (forward/ rewrites the charset parameter). */
  readonly outputCharset: string | null;
}

const UTF8_LABELS = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8', 'us-ascii', 'ascii']);

/** Same bytes as Buffer.from(text, 'latin1'), which takes a much slower path for the external strings Node makes of large decodes. */
function latin1Bytes(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  out.write(text, 0, 'latin1');
  return out;
}

function byteCodec(): TextCodec {
  return { byteDomain: true, outputCharset: null, decode: (b) => b.toString('latin1'), encode: latin1Bytes };
}

function singleByteEncoder(decoder: TextDecoder): ((text: string) => Buffer) | null {
  const reverse = new Map<number, number>();
  for (let b = 0; b < 256; b++) {
    const s = decoder.decode(Uint8Array.of(b));
    if (s.length !== 1 || reverse.has(s.charCodeAt(0))) return null;
    reverse.set(s.charCodeAt(0), b);
  }
  return (text) => {
    const out = Buffer.allocUnsafe(text.length);
    for (let i = 0; i < text.length; i++) out[i] = reverse.get(text.charCodeAt(i)) ?? 0x3f;
    return out;
  };
}

function utf16Encoder(bigEndian: boolean): (text: string) => Buffer {
  return (text) => {
    const out = Buffer.from(text, 'utf16le');
    if (bigEndian) out.swap16();
    return out;
  };
}

/** The codec for a declared charset; an unknown label falls back to the byte domain (lossless). */
export function textCodec(charset: string | null): TextCodec {
  if (charset === null || UTF8_LABELS.has(charset)) return byteCodec();
  let probe: TextDecoder;
  try {
    probe = new TextDecoder(charset, { fatal: false, ignoreBOM: true });
  } catch {
    return byteCodec();
  }
  const encoding = probe.encoding;
  if (encoding === 'utf-8') return byteCodec();
  const decoder = new TextDecoder(encoding, { fatal: false, ignoreBOM: true });
  const encode =
    encoding === 'utf-16le' ? utf16Encoder(false) : encoding === 'utf-16be' ? utf16Encoder(true) : singleByteEncoder(new TextDecoder(encoding, { fatal: false, ignoreBOM: true }));
  return {
    byteDomain: false,
    outputCharset: encode ? null : 'utf-8',
    decode: (b, final) => decoder.decode(b, { stream: !final }),
    encode: encode ?? ((t) => Buffer.from(t, 'utf8')),
  };
}

export type EncodingPlan =
  | { readonly kind: 'identity' }
  | { readonly kind: 'decode'; readonly layers: readonly string[] }
  | { readonly kind: 'unknown'; readonly value: string }
  | { readonly kind: 'too-many'; readonly count: number };

const KNOWN = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd']);

/** Content-Encoding lists codings in the order applied (RFC 9110 8.4): decode from the last. */
export function planEncoding(header: string): EncodingPlan {
  const layers = header
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity');
  if (layers.length === 0) return { kind: 'identity' };
  const unknown = layers.find((l) => !KNOWN.has(l));
  if (unknown !== undefined) return { kind: 'unknown', value: unknown };
  if (layers.length > MAX_ENCODING_LAYERS) return { kind: 'too-many', count: layers.length };
  return { kind: 'decode', layers: [...layers].reverse() };
}

/**
 * RFC 9110 "deflate" is zlib-wrapped, but some clients send raw DEFLATE: a zlib header's first byte has
 * compression method 8 in its low nibble (0x78 in practice), which raw DEFLATE data can only start with by chance.
 */
export function decoderFor(layer: string, firstByte: number | null): Transform {
  switch (layer) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return firstByte !== null && (firstByte & 0x0f) !== 8 ? zlib.createInflateRaw() : zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd':
      return zlib.createZstdDecompress();
    default:
      throw new Error(`no decoder for ${layer}`);
  }
}
