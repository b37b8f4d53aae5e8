// What kind of body a response carries, decided at header time (practice 6: no stage, no decoding).
export type BodyKind = 'html' | 'json' | 'ndjson' | 'sse' | 'markdown' | 'text' | 'binary';

export interface ContentInfo {
  readonly kind: BodyKind;
  /** WHATWG encoding label for TextDecoder (utf-8 when absent or unknown). */
  readonly charset: string;
  /** Whether the declared charset was something other than UTF-8 (the output is UTF-8: content-type changes). */
  readonly transcoded: boolean;
  readonly mime: string;
}

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
  return { kind: kindOf(mime), charset, transcoded, mime };
}

function kindOf(mime: string): BodyKind {
  if (mime === 'text/html' || mime === 'application/xhtml+xml') return 'html';
  if (mime === 'text/event-stream') return 'sse';
  if (mime === 'application/x-ndjson' || mime === 'application/ndjson' || mime === 'application/jsonl' || mime === 'application/x-jsonlines' || mime === 'application/json-seq') return 'ndjson';
  if (mime === 'application/json' || mime.endsWith('+json') || mime === 'text/json') return 'json';
  if (mime === 'text/markdown' || mime === 'text/x-markdown') return 'markdown';
  if (mime.startsWith('text/') || TEXTUAL_APP.test(mime)) return 'text';
  return 'binary';
}

function isKnownEncoding(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}
