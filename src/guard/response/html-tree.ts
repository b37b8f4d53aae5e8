// The element stack and events of htmlparser2's Parser (HTML mode, lower-cased names, entities decoded,
// self-closing syntax ignored outside foreign content), driven straight from its Tokenizer. The cleaner needs
// the Parser's exact events and indices (the markup it re-emits is cut at them), but not the rest of its
// work: the attribute object per tag, the optional-callback checks, the shift/unshift stack. Each method here
// is the Parser method of the same name, reduced to that configuration; html-tree.test.ts checks that events,
// names, attributes and indices are the Parser's over random documents and chunkings.
import { Tokenizer, type QuoteType, type TokenizerCallbacks } from 'htmlparser2';
import { FOREIGN_CONTEXT_ELEMENTS, HTML_INTEGRATION_ELEMENTS, OPEN_IMPLIES_CLOSE, SVG_TAG_NAMES, VOID_ELEMENTS } from './html-tree-tables.ts';
import { HtmlTokenizer } from './html-tokenizer.ts';

const { fromCodePoint } = String;
const NOT_FOREIGN = 0;
const SVG = 1;
const MATHML = 2;

export interface TreeHandler {
  /** An open tag; `attrs` is reused for the next tag, so read it before returning. */
  onOpenTag(name: string, attrs: Attributes): void;
  onCloseTag(name: string, implied: boolean): void;
  onText(text: string): void;
  onComment(data: string): void;
  onCommentEnd(): void;
  /** A doctype or processing instruction. */
  onMarkup(): void;
}

/** Past this many attributes a tag's names are also indexed: a page can send a tag with thousands of them. */
const INDEX_FROM = 16;

/** A tag's attributes in source order, first occurrence of a name only (names lower-cased, values decoded). */
export class Attributes {
  /** Entries past `count` are stale: the arrays are reused from tag to tag (truncating them is a slow call). */
  readonly names: string[] = [];
  readonly values: string[] = [];
  count = 0;
  private index: Map<string, number> | null = null;

  get(name: string): string | undefined {
    if (this.index !== null) {
      const i = this.index.get(name);
      return i === undefined ? undefined : this.values[i];
    }
    for (let i = 0; i < this.count; i++) if (this.names[i] === name) return this.values[i];
    return undefined;
  }

  add(name: string, value: string): void {
    if (this.get(name) !== undefined) return;
    this.names[this.count] = name;
    this.values[this.count] = value;
    if (this.index !== null) this.index.set(name, this.count);
    else if (this.count + 1 === INDEX_FROM) this.index = new Map(this.names.slice(0, INDEX_FROM).map((n, i) => [n, i]));
    this.count++;
  }

  /** The attribute object the Parser would have built (its key order and its dropped `__proto__`). */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (let i = 0; i < this.count; i++) o[this.names[i]!] = this.values[i]!;
    return o;
  }

  clear(): void {
    this.count = 0;
    this.index = null;
  }
}

export class HtmlTree implements TokenizerCallbacks {
  /** Start of the current event in the source (the Parser's `startIndex`). */
  startIndex = 0;
  /** Last index of the current event (the Parser's `endIndex`). */
  endIndex = 0;
  private readonly handler: TreeHandler;
  private readonly tokenizer: Tokenizer;
  private openTagStart = 0;
  private tagname = '';
  private attribname = '';
  private attribvalue = '';
  /** The Parser's `attribs !== null`: an open tag is collecting attributes. */
  private collecting = false;
  private readonly attrs = new Attributes();
  /** Open elements, innermost last (the Parser keeps them innermost first). */
  private readonly stack: string[] = [];
  private readonly foreign: number[] = [NOT_FOREIGN];
  private readonly buffers: string[] = [];
  private bufferOffset = 0;

  constructor(handler: TreeHandler) {
    this.handler = handler;
    this.tokenizer = new HtmlTokenizer({ decodeEntities: true, recognizeSelfClosing: false }, this);
  }

  write(chunk: string): void {
    this.buffers.push(chunk);
    this.tokenizer.write(chunk);
  }

  end(): void {
    this.tokenizer.end();
  }

  ontext(start: number, endIndex: number): void {
    const data = this.getSlice(start, endIndex);
    this.endIndex = endIndex - 1;
    this.handler.onText(data);
    this.startIndex = endIndex;
  }

  ontextentity(cp: number, endIndex: number): void {
    this.endIndex = endIndex - 1;
    this.handler.onText(fromCodePoint(cp));
    this.startIndex = endIndex;
  }

  isInForeignContext(): boolean {
    return this.foreign[this.foreign.length - 1] !== NOT_FOREIGN;
  }

  private readTagName(start: number, endIndex: number): string {
    const name = this.getSlice(start, endIndex).toLowerCase();
    if (this.foreign[this.foreign.length - 1] === SVG) return SVG_TAG_NAMES.get(name) ?? name;
    // A closing tag of an SVG element inside one of its own HTML integration points (</foreignObject>).
    if (this.foreign.length > 1) {
      const adjusted = SVG_TAG_NAMES.get(name);
      if (adjusted !== undefined && this.stack.includes(adjusted)) return adjusted;
    }
    if (!this.isInForeignContext()) return name === 'image' ? 'img' : name;
    return name;
  }

  onopentagname(start: number, endIndex: number): void {
    this.endIndex = endIndex;
    this.emitOpenTag(this.readTagName(start, endIndex));
  }

  private emitOpenTag(name: string): void {
    this.openTagStart = this.startIndex;
    this.tagname = name;
    // A second <form> inside an open one is ignored: no events, its attributes are not collected.
    if (name === 'form' && this.stack.includes('form')) {
      this.tagname = '';
      return;
    }
    const impliesClose = OPEN_IMPLIES_CLOSE.get(name);
    if (impliesClose !== undefined) {
      while (this.stack.length > 0 && impliesClose.has(this.stack[this.stack.length - 1]!)) this.popElement(true);
    }
    if (!VOID_ELEMENTS.has(name)) {
      this.stack.push(name);
      if (name === 'svg') this.foreign.push(SVG);
      else if (name === 'math') this.foreign.push(MATHML);
      else if (HTML_INTEGRATION_ELEMENTS.has(name)) this.foreign.push(NOT_FOREIGN);
    }
    this.attrs.clear();
    this.collecting = true;
  }

  private endOpenTag(): void {
    this.startIndex = this.openTagStart;
    if (this.collecting) {
      this.collecting = false;
      this.handler.onOpenTag(this.tagname, this.attrs);
    }
    if (VOID_ELEMENTS.has(this.tagname)) this.handler.onCloseTag(this.tagname, true);
    this.tagname = '';
  }

  onopentagend(endIndex: number): void {
    this.endIndex = endIndex;
    this.endOpenTag();
    this.startIndex = endIndex + 1;
  }

  onclosetag(start: number, endIndex: number): void {
    this.endIndex = endIndex;
    const name = this.readTagName(start, endIndex);
    if (!VOID_ELEMENTS.has(name)) {
      const pos = this.stack.lastIndexOf(name);
      if (pos !== -1) {
        for (let n = this.stack.length - 1 - pos; n > 0; n--) this.popElement(true);
        this.popElement(false);
      } else if (name === 'p') {
        // </p> with no open <p>: an empty paragraph, opened and closed here.
        this.emitOpenTag('p');
        this.closeCurrentTag(true);
      }
    } else if (name === 'br') {
      // </br> is a <br>.
      this.attrs.clear();
      this.handler.onOpenTag('br', this.attrs);
      this.handler.onCloseTag('br', false);
    }
    this.startIndex = endIndex + 1;
  }

  onselfclosingtag(endIndex: number): void {
    this.endIndex = endIndex;
    if (this.isInForeignContext()) {
      this.closeCurrentTag(false);
      this.startIndex = endIndex + 1;
    } else this.onopentagend(endIndex);
  }

  private popElement(implied: boolean): void {
    const element = this.stack.pop()!;
    if (FOREIGN_CONTEXT_ELEMENTS.has(element) || HTML_INTEGRATION_ELEMENTS.has(element)) this.foreign.pop();
    this.handler.onCloseTag(element, implied);
  }

  private closeCurrentTag(isOpenImplied: boolean): void {
    const name = this.tagname;
    this.endOpenTag();
    if (this.stack[this.stack.length - 1] === name) this.popElement(!isOpenImplied);
  }

  onattribname(start: number, endIndex: number): void {
    this.startIndex = start;
    this.attribname = this.getSlice(start, endIndex).toLowerCase();
  }

  onattribdata(start: number, endIndex: number): void {
    this.attribvalue += this.getSlice(start, endIndex);
  }

  onattribentity(cp: number): void {
    this.attribvalue += fromCodePoint(cp);
  }

  onattribend(_quote: QuoteType, endIndex: number): void {
    this.endIndex = endIndex;
    if (this.collecting) this.attrs.add(this.attribname, this.attribvalue);
    this.attribvalue = '';
  }

  ondeclaration(_start: number, endIndex: number): void {
    this.endIndex = endIndex;
    this.handler.onMarkup();
    this.startIndex = endIndex + 1;
  }

  onprocessinginstruction(_start: number, endIndex: number): void {
    this.endIndex = endIndex;
    this.handler.onMarkup();
    this.startIndex = endIndex + 1;
  }

  oncomment(start: number, endIndex: number, offset: number): void {
    this.endIndex = endIndex;
    this.handler.onComment(this.getSlice(start, endIndex - offset));
    this.handler.onCommentEnd();
    this.startIndex = endIndex + 1;
  }

  oncdata(start: number, endIndex: number, offset: number): void {
    this.endIndex = endIndex;
    const value = this.getSlice(start, endIndex - offset);
    // HTML mode: CDATA is text in foreign content and a bogus comment elsewhere.
    if (this.isInForeignContext()) this.handler.onText(value);
    else {
      this.handler.onComment(`[CDATA[${value}]]`);
      this.handler.onCommentEnd();
    }
    this.startIndex = endIndex + 1;
  }

  onend(): void {
    this.endIndex = this.startIndex;
    for (let i = this.stack.length - 1; i >= 0; i--) this.handler.onCloseTag(this.stack[i]!, true);
  }

  /** Source text [start, end), from the chunks written; chunks wholly before `start` are dropped. */
  private getSlice(start: number, end: number): string {
    if (start === end) return '';
    while (start - this.bufferOffset >= this.buffers[0]!.length) this.shiftBuffer();
    let slice = this.buffers[0]!.slice(start - this.bufferOffset, end - this.bufferOffset);
    while (end - this.bufferOffset > this.buffers[0]!.length) {
      this.shiftBuffer();
      slice += this.buffers[0]!.slice(0, end - this.bufferOffset);
    }
    return slice;
  }

  private shiftBuffer(): void {
    this.bufferOffset += this.buffers[0]!.length;
    this.buffers.shift();
  }
}
