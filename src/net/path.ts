// Path normalisation for policy matching (THREATS 2.10). Envoy CVE-2019-9901 (dot segments) and
// CVE-2021-29492 (escaped slashes), and Tomcat's "..;/", are all a policy matcher and the upstream server
// reading one path two ways. Sluice removes the ambiguity before deciding and forwards exactly the path it
// decided on: unreserved escapes are decoded, escapes that would change the path's structure are refused,
// dot segments are removed (RFC 3986 5.2.4), and case is kept.
import { BadRequestError } from '../errors.ts';

// RFC 3986 2.3: decoding these never changes what a URI identifies.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;

function reject(why: string): never {
  throw new BadRequestError(`The request path is not accepted: ${why}. Send a plain path without dot segments or encoded separators.`);
}

/** Printable ASCII only; '\\', '#', '?' and '%' handled by the caller's grammar. */
function checkPathChars(rawPath: string): void {
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) reject('it contains a control character, a space or a non-ASCII byte');
    // IIS, Tomcat and many Windows stacks treat '\\' as '/'; forwarding it would route past the matcher.
    if (code === 0x5c) reject('it contains a backslash');
    if (code === 0x23 || code === 0x3f) reject('it contains "#" or "?"');
  }
}

/** One segment: decode unreserved escapes; refuse encoded separators, controls and encoded dot segments. */
function normaliseSegment(segment: string): string {
  let out = '';
  let encodedDot = false;
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = segment.slice(i + 1, i + 3);
    if (!HEX2.test(hex)) reject('it contains a "%" that is not followed by two hex digits');
    const code = Number.parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c) reject('it contains an encoded "/" or "\\" (%2F, %5C)');
    if (code < 0x20 || code === 0x7f) reject('it contains an encoded control character');
    const decoded = String.fromCharCode(code);
    if (UNRESERVED.test(decoded)) {
      if (decoded === '.') encodedDot = true;
      out += decoded;
    } else {
      out += `%${hex.toUpperCase()}`;
    }
    i += 2;
  }
  // "..;" is ".." to Tomcat and Jetty (path parameters are dropped before routing), so it is a dot segment too.
  const bare = out.split(';', 1)[0]!;
  if (bare === '.' || bare === '..') {
    if (encodedDot) reject('it contains an encoded dot segment (%2E)');
    if (bare !== out) reject('it contains a dot segment with parameters ("..;")');
  }
  return out;
}

/** RFC 3986 5.2.4 over already-split segments of an absolute path. */
function removeDotSegments(segments: readonly string[]): string {
  const output: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') output.pop();
      // A trailing dot segment still denotes a directory: "/a/b/.." is "/a/".
      if (last) output.push('');
      continue;
    }
    output.push(segment);
  }
  return `/${output.join('/')}`;
}

/**
 * The path Sluice decides on and forwards. Throws BadRequestError for paths that servers could read
 * differently: encoded '/', '\\' or dot segments, raw backslashes, NUL and controls, malformed escapes.
 */
export function normalisePath(rawPath: string): string {
  if (!rawPath.startsWith('/')) reject('it must start with "/"');
  checkPathChars(rawPath);
  const segments = rawPath.slice(1).split('/').map(normaliseSegment);
  return removeDotSegments(segments);
}

/** Query text (without '?'): printable ASCII, no '#', no backslash, escapes well formed. Returned unchanged. */
export function checkQuery(rawQuery: string): string {
  for (let i = 0; i < rawQuery.length; i++) {
    const code = rawQuery.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f) reject('the query contains a control character, a space or a non-ASCII byte');
    if (code === 0x5c || code === 0x23) reject('the query contains a backslash or "#"');
    if (code === 0x25 && !HEX2.test(rawQuery.slice(i + 1, i + 3))) reject('the query contains a "%" that is not followed by two hex digits');
  }
  return rawQuery;
}

/**
 * An origin-form request-target ("/path?query", RFC 9112 3.2.1) as used inside an intercepted tunnel.
 * `query` is the raw query without '?', or '', as in parseAbsoluteTarget.
 */
export function parseOriginTarget(rawTarget: string): { path: string; query: string } {
  const q = rawTarget.indexOf('?');
  const path = normalisePath(q === -1 ? rawTarget : rawTarget.slice(0, q));
  const query = q === -1 ? '' : checkQuery(rawTarget.slice(q + 1));
  return { path, query };
}
