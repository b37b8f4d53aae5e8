// What kind of body a response carries, decided at header time (practice 6: no stage, no decoding).
export type BodyKind = 'html' | 'json' | 'ndjson' | 'sse' | 'markdown' | 'text' | 'binary';

export interface ContentInfo {
  /** 'sniff': missing or unrecognised type; the first bytes decide between text and binary. */
  readonly kind: BodyKind | 'sniff';
  /** WHATWG encoding label for TextDecoder (utf-8 when absent or unknown). */
  readonly charset: string;
  /** Whether the declared charset was something other than UTF-8 (the output is UTF-8: content-type changes). */
  readonly transcoded: boolean;
  readonly mime: string;
}

// Types whose bodies are binary by definition: passed untouched. Anything else unrecognised is sniffed, because
// THREATS 2.8 strips invisible characters "for every status code and content type" and a server can label prose
// with any type it likes (or none).
const BINARY_TOP = /^(?:image|audio|video|font|model)\//;
const BINARY_APP = /^application\/(?:octet-stream|pdf|zip|gzip|x-gzip|x-tar|x-bzip2|x-xz|zstd|x-7z-compressed|x-rar-compressed|vnd\.rar|java-archive|wasm|x-protobuf|protobuf|vnd\.google\.protobuf|grpc(?:\+proto)?|msgpack|x-msgpack|cbor|x-sqlite3|vnd\.ms-excel|msword|vnd\.openxmlformats-[\w.-]+|vnd\.oasis\.opendocument\.[\w.-]+|x-shockwave-flash|x-executable|x-mach-binary|x-msdownload|x-apple-diskimage|vnd\.android\.package-archive)$/;
const TEXTUAL_APP = /^application\/(?:xml|xhtml\+xml|javascript|ecmascript|x-www-form-urlencoded|rss\+xml|atom\+xml|x-yaml|yaml|toml|graphql|sql|x-sh|x-httpd-php)$/;

export function classify(contentType: string | undefined): ContentInfo {
  const [rawMime = '', ...params] = (contentType ?? '').split(';');
  const mime = rawMime.trim().toLowerCase();
  let charset = 'utf-8';
  let declared: string | null = null;
  for (const p of params) {
    const m = /^\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(p);
    if (m) declared = m[1]!.toLowerCase();
  }
  if (declared !== null && isKnownEncoding(declared)) charset = declared;
  const transcoded = charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii' && charset !== 'ascii';
  const kind = kindOf(mime);
  // An unrecognised type that declares a charset says it is text.
  return { kind: kind === 'sniff' && declared !== null ? 'text' : kind, charset, transcoded, mime };
}

function kindOf(mime: string): BodyKind | 'sniff' {
  if (mime === 'text/html' || mime === 'application/xhtml+xml') return 'html';
  if (mime === 'text/event-stream') return 'sse';
  if (mime === 'application/x-ndjson' || mime === 'application/ndjson' || mime === 'application/jsonl' || mime === 'application/x-jsonlines' || mime === 'application/json-seq') return 'ndjson';
  if (mime === 'application/json' || mime.endsWith('+json') || mime === 'text/json') return 'json';
  if (mime === 'text/markdown' || mime === 'text/x-markdown') return 'markdown';
  if (mime.startsWith('text/') || TEXTUAL_APP.test(mime)) return 'text';
  if (BINARY_TOP.test(mime) || BINARY_APP.test(mime)) return 'binary';
  return 'sniff';
}

function isKnownEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}
