// htmlparser2's Tokenizer with indexOf fast paths. With entity decoding on, the stock tokenizer walks every
// character of text and attribute values through its state switch, although only `<`, `&` (or the closing
// quote) changes anything: on the 1 MiB bench page that walk made it cost 10-12 ms, against 3-5 ms here.
// These states jump straight to the next character that matters; everything they skip was a no-op, so the
// events, their indices and the chunk-end flushes are the stock ones (html-tokenizer.test.ts compares the
// event streams over random documents and chunkings).
//
// The overridden methods and the fields they move (`buffer`, `offset`, `index`) are private in htmlparser2's
// types, so they are reached through `TokenizerInternals`. The layout is checked once at load; if a future
// htmlparser2 changes it, the stock tokenizer is used (slower, same output).
import { Tokenizer } from 'htmlparser2';

const LT = 0x3c;
const AMP = 0x26;
const DQ = 0x22;

/** The private state of htmlparser2 12's Tokenizer that the fast paths read and move. */
interface TokenizerInternals {
  buffer: string;
  /** Absolute index of `buffer[0]`. */
  offset: number;
  /** Absolute index of the character being looked at; the parse loop adds 1 after each state call. */
  index: number;
  stateText(c: number): void;
  handleInAttributeValue(c: number, quote: number): void;
}

interface FastInternals extends TokenizerInternals {
  nextAmp(buffer: string, i: number): number;
}

const stock = Tokenizer.prototype as unknown as TokenizerInternals;

class FastTokenizer extends Tokenizer {
  /** Buffer index of the next `&` at or after `ampFrom` (buffer length: none); -1: not searched in this buffer. */
  ampAt = -1;
  ampFrom = 0;

  override write(chunk: string): void {
    this.ampAt = -1; // the remembered position was in the previous buffer
    super.write(chunk);
  }

  override reset(): void {
    this.ampAt = -1;
    super.reset();
  }

  /**
   * The next `&` at or after buffer index `i`. Remembered, because text without any `&` would otherwise
   * be searched to the end of the buffer once per text node.
   */
  nextAmp(buffer: string, i: number): number {
    if (this.ampAt < 0 || i < this.ampFrom || i > this.ampAt) {
      const a = buffer.indexOf('&', i);
      this.ampAt = a < 0 ? buffer.length : a;
      this.ampFrom = i;
    }
    return this.ampAt;
  }
}

/** Text state: only `<` and `&` do anything; skip to just before the next of them (or the buffer's end). */
function stateText(this: FastInternals, c: number): void {
  if (c === LT || c === AMP) {
    stock.stateText.call(this, c);
    return;
  }
  const buffer = this.buffer;
  const i = this.index - this.offset + 1;
  let lt = buffer.indexOf('<', i);
  if (lt < 0) lt = buffer.length;
  const amp = this.nextAmp(buffer, i);
  this.index = (lt < amp ? lt : amp) + this.offset - 1;
}

/** Quoted attribute value: only the closing quote and `&` do anything. */
function handleInAttributeValue(this: FastInternals, c: number, quote: number): void {
  if (c === quote || c === AMP) {
    stock.handleInAttributeValue.call(this, c, quote);
    return;
  }
  const buffer = this.buffer;
  const i = this.index - this.offset + 1;
  let q = buffer.indexOf(quote === DQ ? '"' : "'", i);
  if (q < 0) q = buffer.length;
  const amp = this.nextAmp(buffer, i);
  this.index = (q < amp ? q : amp) + this.offset - 1;
}

function layoutIsKnown(): boolean {
  if (typeof stock.stateText !== 'function' || typeof stock.handleInAttributeValue !== 'function') return false;
  const probe = new Tokenizer({}, {} as ConstructorParameters<typeof Tokenizer>[1]) as unknown as Record<string, unknown>;
  return typeof probe['buffer'] === 'string' && typeof probe['offset'] === 'number' && typeof probe['index'] === 'number';
}

function withFastPaths(): typeof Tokenizer {
  if (!layoutIsKnown()) return Tokenizer;
  const fast = FastTokenizer.prototype as unknown as Record<string, unknown>;
  fast['stateText'] = stateText;
  fast['handleInAttributeValue'] = handleInAttributeValue;
  return FastTokenizer;
}

/** htmlparser2's Tokenizer, with the fast paths when its layout is the one they were written for. */
export const HtmlTokenizer: typeof Tokenizer = withFastPaths();
