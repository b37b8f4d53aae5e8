// Exfiltration shapes that no single token pattern catches: an environment dump, a credentials file's
// structure, a large high-entropy blob to a host that is not an upload destination, and data smuggled in
// DNS labels of a wildcard-allowed host (httpjail's dns-exfiltration note).
import { shannonEntropy } from '../entropy.ts';
import { disabledRules } from '../rules/catalog.ts';
import type { Action, Finding, GuardStage, ScanContext, ScanInput } from '../types.ts';

const ENV_LINE_AT = /(?:^|\n)[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]{1,63})=([^\n]*)/y;
const SECRET_NAME = /KEY|SECRET|TOKEN|PASS|PWD|CREDENTIAL|AUTH|PRIVATE|SESSION|COOKIE|DSN|DATABASE_URL|CONN/;
const ENV_MIN_LINES = 5;
const ENV_MIN_SECRETS = 2;
const ENV_LINE_GAP = 2;

const AWS_PROFILE = /\[[\w\-. ]{1,64}\][ \t]*\r?\n/g;
const AWS_SECRET_LINE = /aws_secret_access_key[ \t]*=[ \t]*[A-Za-z0-9/+]{30,}[^\n]*/i;
const KUBE_SECRET = /(?:client-key-data|token|password):[ \t]*["']?[A-Za-z0-9+/=_.\-]{16,}/;

export const BLOB_MIN_LENGTH = 2048;
const BLOB_MIN_ENTROPY = 4.5;
const HEX_MIN_ENTROPY = 3.5;

const DNS_LABEL_MIN = 24;
const DNS_LABEL_ENTROPY = 3.6;

const BLOB_CHARS = (() => {
  const t = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-\r\n') t[c.charCodeAt(0)] = 1;
  return t;
})();

const isBlobAt = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  return c < 128 && BLOB_CHARS[c] === 1;
};

// Media files by their magic bytes: a vision request carrying a PNG is not exfiltration.
const MEDIA_MAGIC: ReadonlyArray<readonly [offset: number, bytes: readonly number[]]> = [
  [0, [0x89, 0x50, 0x4e, 0x47]], // PNG
  [0, [0xff, 0xd8, 0xff]], // JPEG
  [0, [0x47, 0x49, 0x46, 0x38]], // GIF
  [0, [0x52, 0x49, 0x46, 0x46]], // RIFF: WebP, WAV, AVI
  [0, [0x25, 0x50, 0x44, 0x46]], // PDF
  [0, [0x49, 0x44, 0x33]], // MP3 (ID3)
  [4, [0x66, 0x74, 0x79, 0x70]], // ISO BMFF: MP4, HEIC, AVIF
  [0, [0x4f, 0x67, 0x67, 0x53]], // Ogg
  [0, [0x1a, 0x45, 0xdf, 0xa3]], // WebM/Matroska
  [0, [0x77, 0x4f, 0x46, 0x46]], // WOFF
  [0, [0x77, 0x4f, 0x46, 0x32]], // WOFF2
  [0, [0x00, 0x00, 0x01, 0x00]], // ICO
];

function isMedia(base64Head: string): boolean {
  const bytes = Buffer.from(base64Head.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return MEDIA_MAGIC.some(([off, magic]) => magic.every((b, i) => bytes[off + i] === b));
}

function exemptBlob(text: string, start: number, blob: string): boolean {
  // The run may begin with the tail of a line of prose before the newline: try the first few line starts.
  const lines = blob.split('\n', 4);
  for (let i = 0, at = 0; i < lines.length; at += lines[i]!.length + 1, i++) {
    if (isMedia(blob.slice(at).replace(/[\r\n]/g, '').slice(0, 24))) return true;
  }
  const lead = text.slice(Math.max(0, start - 80), start);
  if (/data:(?:image|audio|video|font)\/[\w.+-]+;base64,$/i.test(lead)) return true;
  // '-' is a base64url character, so a PEM header's dashes start the run: look a little into it too.
  const around = text.slice(Math.max(0, start - 40), start + 40);
  return /-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|PGP PUBLIC KEY BLOCK|X509 CRL|CERTIFICATE REQUEST)-----/.test(around);
}

/** Runs of base64/hex characters of at least BLOB_MIN_LENGTH: probe every BLOB_MIN_LENGTH-th character and grow around hits. */
function blobs(text: string, report: (s: number, e: number, rule: string) => void): void {
  let covered = 0;
  for (let probe = BLOB_MIN_LENGTH - 1; probe < text.length; probe += BLOB_MIN_LENGTH) {
    if (probe < covered || !isBlobAt(text, probe)) continue;
    let s = probe;
    while (s > covered && isBlobAt(text, s - 1)) s--;
    let e = probe + 1;
    while (e < text.length && isBlobAt(text, e)) e++;
    covered = e;
    if (e - s < BLOB_MIN_LENGTH) continue;
    const blob = text.slice(s, e);
    const compact = blob.replace(/[\r\n]/g, '');
    if (compact.length < BLOB_MIN_LENGTH || exemptBlob(text, s, blob)) continue;
    const hex = /^[0-9a-fA-F]+$/.test(compact);
    const h = shannonEntropy(compact.length > 8192 ? compact.slice(0, 8192) : compact);
    if (h >= (hex ? HEX_MIN_ENTROPY : BLOB_MIN_ENTROPY)) report(s, e, hex ? 'exfil/hex-blob' : 'exfil/base64-blob');
  }
}

/** After the line's blanks ENV_LINE needs `export` or a capital: most lines of code and prose fail here, before a regex call. */
function envLineMayStart(text: string, at: number): boolean {
  let i = text.charCodeAt(at) === 10 ? at + 1 : at;
  let c = text.charCodeAt(i);
  while (c === 32 || c === 9) c = text.charCodeAt(++i);
  return (c >= 65 && c <= 90) || c === 101;
}

/**
 * Where ENV_LINE (as a /g scan) matches, in order: it can only match at the start or at a newline, and only on a
 * line with an '='. Finding the '=' signs with indexOf (memchr) and trying the sticky form at their line's start
 * skips the lines without one, where the /g scan spent most of its time.
 */
function envLines(text: string, fn: (m: RegExpExecArray) => void): void {
  // The newline (or 0) the next line to try starts at; every line before it has been tried.
  let lineStart = 0;
  for (let eq = text.indexOf('='); eq !== -1; ) {
    const nl = text.lastIndexOf('\n', eq - 1);
    const at = nl < lineStart ? lineStart : nl;
    if (envLineMayStart(text, at)) {
      ENV_LINE_AT.lastIndex = at;
      const m = ENV_LINE_AT.exec(text);
      if (m !== null) fn(m);
    }
    // The line's end; no match starts before it.
    const end = text.indexOf('\n', eq);
    if (end === -1) return;
    lineStart = end;
    eq = text.indexOf('=', end);
  }
}

function envDumps(text: string, report: (s: number, e: number) => void): void {
  if (text.indexOf('=') === -1) return;
  let block: { start: number; end: number; lines: number; secrets: number; lastLine: number } | null = null;
  let lineNo = 0;
  let lastPos = 0;
  const flush = () => {
    if (block && block.lines >= ENV_MIN_LINES && block.secrets >= ENV_MIN_SECRETS) report(block.start, block.end);
    block = null;
  };
  envLines(text, (m) => {
    for (let p = text.indexOf('\n', lastPos); p !== -1 && p < m.index + 1; p = text.indexOf('\n', p + 1)) lineNo++;
    lastPos = m.index + 1;
    const start = text[m.index] === '\n' ? m.index + 1 : m.index;
    const end = m.index + m[0].length;
    const secret = SECRET_NAME.test(m[1]!) && m[2]!.replace(/["']/g, '').trim().length >= 8 ? 1 : 0;
    if (block && lineNo - block.lastLine <= ENV_LINE_GAP) {
      block.end = end;
      block.lines++;
      block.secrets += secret;
      block.lastLine = lineNo;
    } else {
      flush();
      block = { start, end, lines: 1, secrets: secret, lastLine: lineNo };
    }
  });
  flush();
}

/** Is text[at, at + word.length) `word` (lower-case ASCII) up to ASCII case? What /word/i means for ASCII. */
function asciiCaseEqualAt(text: string, at: number, word: string): boolean {
  if (at < 0 || at + word.length > text.length) return false;
  for (let i = 0; i < word.length; i++) {
    const c = text.charCodeAt(at + i);
    const w = word.charCodeAt(i);
    if (c !== w && !(w >= 97 && w <= 122 && c === w - 32)) return false;
  }
  return true;
}

const AWS_KEY_ID = 'aws_access_key_id';
const AWS_KEY_ID_UNDERSCORE = AWS_KEY_ID.indexOf('_');

/**
 * Every occurrence of aws_access_key_id, any case, in order (it cannot overlap itself, so these are the /gi
 * matches). Found through its first '_' with indexOf, which has no case to fold: a case-insensitive scan of
 * every position cost more than the rest of the stage.
 */
function awsKeyIds(text: string, fn: (at: number) => void): void {
  for (let u = text.indexOf('_', AWS_KEY_ID_UNDERSCORE); u !== -1; u = text.indexOf('_', u + 1)) {
    if (asciiCaseEqualAt(text, u - AWS_KEY_ID_UNDERSCORE, AWS_KEY_ID)) fn(u - AWS_KEY_ID_UNDERSCORE);
  }
}

// Anchored on a fixed string, then bounded slices: no regex here can backtrack across the whole body.
function awsFiles(text: string, report: (s: number, e: number) => void): void {
  awsKeyIds(text, (at) => {
    const back = text.slice(Math.max(0, at - 400), at);
    let header = -1;
    AWS_PROFILE.lastIndex = 0;
    for (let m = AWS_PROFILE.exec(back); m !== null; m = AWS_PROFILE.exec(back)) header = m.index;
    if (header === -1) return;
    const secret = AWS_SECRET_LINE.exec(text.slice(at, at + 600));
    if (!secret) return;
    report(Math.max(0, at - 400) + header, at + secret.index + secret[0].length);
  });
}

const KUBE_KIND = 'kind: Config';
const KUBE_KIND_HEAD = KUBE_KIND.indexOf('Config');

/** Every 'kind: Config', in order. indexOf of 'Config' (its rare first letter) is many times faster than of the whole. */
function kubeKinds(text: string, fn: (at: number) => void): void {
  for (let c = text.indexOf('Config', KUBE_KIND_HEAD); c !== -1; c = text.indexOf('Config', c + 1)) {
    if (text.startsWith(KUBE_KIND, c - KUBE_KIND_HEAD)) fn(c - KUBE_KIND_HEAD);
  }
}

function kubeconfigs(text: string, report: (s: number, e: number) => void): void {
  kubeKinds(text, (at) => {
    const from = Math.max(0, at - 3000);
    const region = text.slice(from, at + 6000);
    const api = region.indexOf('apiVersion:');
    const secret = KUBE_SECRET.exec(region);
    if (api === -1 || !secret || !region.includes('users:')) return;
    report(from + Math.min(api, secret.index), from + Math.max(at - from + 12, secret.index + secret[0].length));
  });
}

function dnsLabels(host: string, report: (s: number, e: number) => void): void {
  let pos = 0;
  for (const label of host.split('.')) {
    if (label.length >= DNS_LABEL_MIN && shannonEntropy(label) >= DNS_LABEL_ENTROPY && /\d/.test(label)) report(pos, pos + label.length);
    pos += label.length + 1;
  }
}

function actionOf(ctx: ScanContext): Action | 'off' {
  if (ctx.settings.disableRules.includes('exfil')) return 'off';
  return ctx.settings.exfil ?? 'block';
}

export function createExfilStage(): GuardStage {
  return {
    id: 'exfil',
    directions: ['request'],
    maxMatchLength: 4096,
    accepts: (ctx) => actionOf(ctx) !== 'off',
    scan({ text, offset, ctx }: ScanInput): Finding[] {
      const action = actionOf(ctx);
      if (action === 'off') return [];
      const out: Finding[] = [];
      const disabled = disabledRules(ctx.settings.disableRules);
      const add = (rule: string, kind: string, s: number, e: number) => {
        if (!disabled.has(rule)) out.push({ rule, kind, severity: 'critical', span: [offset + s, offset + e], action });
      };
      if (ctx.location === 'host') {
        dnsLabels(text, (s, e) => add('exfil/dns-label', 'dns_exfil', s, e));
        return out;
      }
      envDumps(text, (s, e) => add('exfil/env-dump', 'env_dump', s, e));
      awsFiles(text, (s, e) => add('exfil/aws-credentials-file', 'credential_file', s, e));
      kubeconfigs(text, (s, e) => add('exfil/kubeconfig', 'credential_file', s, e));
      if (!ctx.settings.uploadDestination) blobs(text, (s, e, rule) => add(rule, 'high_entropy_blob', s, e));
      return out;
    },
  };
}
