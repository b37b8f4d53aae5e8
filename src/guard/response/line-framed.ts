// Line-framed bodies: server-sent events (WHATWG HTML §9.2: events end at a blank line; CR, LF or CRLF) are
// released event by event, each as soon as it is scanned; NDJSON is released line by line. JSON data is
// rewritten through the JSON string rewriter so it stays valid.
import { GuardBlockedError } from '../../errors.ts';
import { JsonStringRewriter } from './json-strings.ts';
import type { TextStream } from './text-stream.ts';

const MAX_LINE = 1024 * 1024;

function identity(t: string): string {
  return t;
}

/**
 * Split a stream into lines, keeping each terminator. A CR at the very end of a chunk is held back until the
 * next chunk says whether it starts a CRLF (only bodies with bare-CR line ends pay that delay).
 */
class LineSplitter {
  private pending = '';

  *lines(chunk: string): Generator<readonly [string, string]> {
    let data = this.pending + chunk;
    let hold = '';
    if (data.endsWith('\r')) {
      hold = '\r';
      data = data.slice(0, -1);
    }
    const re = /\r\n|\r|\n/g;
    let i = 0;
    for (let m = re.exec(data); m !== null; m = re.exec(data)) {
      yield [data.slice(i, m.index), m[0]];
      i = m.index + m[0].length;
    }
    this.pending = data.slice(i) + hold;
    if (this.pending.length > MAX_LINE) throw new GuardBlockedError('A line of the response is too long to scan.', [{ rule: 'response/line-too-long', kind: 'limit' }]);
  }

  rest(): readonly [string, string] {
    const r = this.pending;
    this.pending = '';
    return r.endsWith('\r') ? [r.slice(0, -1), '\r'] : [r, ''];
  }
}

export class SseCleaner {
  private readonly out: TextStream;
  private readonly split = new LineSplitter();
  private readonly json: JsonStringRewriter;

  constructor(out: TextStream) {
    this.out = out;
    this.json = new JsonStringRewriter(out);
  }

  write(s: string): void {
    for (const [line, eol] of this.split.lines(s)) this.line(line, eol);
  }

  end(): void {
    const [rest, eol] = this.split.rest();
    if (rest.length > 0 || eol.length > 0) this.line(rest, eol);
    this.out.flush();
  }

  private line(line: string, eol: string): void {
    if (line === '') {
      this.out.opaque(eol);
      this.out.flush(); // blank line: the event is complete, release it now
      return;
    }
    this.field(line);
    this.out.opaque(eol);
  }

  private field(line: string): void {
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    if (name !== 'data') {
      this.out.opaque(line, true);
      return;
    }
    const prefixLen = line[colon + 1] === ' ' ? colon + 2 : colon + 1;
    const value = line.slice(prefixLen);
    this.out.opaque(line.slice(0, prefixLen), true);
    const t = value.trimStart();
    if (t.startsWith('{') || t.startsWith('[') || t.startsWith('"')) {
      this.json.write(value);
      this.json.endValue();
    } else this.out.text(value, value, identity);
  }
}

export class NdjsonCleaner {
  private readonly out: TextStream;
  private readonly json: JsonStringRewriter;

  constructor(out: TextStream) {
    this.out = out;
    this.json = new JsonStringRewriter(out);
  }

  /** Raw newlines only occur between JSON texts (inside strings they are escaped), so each one ends a record. */
  write(s: string): void {
    let i = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', i)) {
      this.json.write(s.slice(i, nl + 1));
      this.json.endValue();
      this.out.flush();
      i = nl + 1;
    }
    if (i < s.length) this.json.write(s.slice(i));
  }

  end(): void {
    this.json.endValue();
    this.out.flush();
  }
}
