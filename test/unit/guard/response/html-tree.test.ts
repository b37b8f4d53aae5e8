// HtmlTree must give the cleaner what htmlparser2's Parser gave it: the same events, names (lower-cased,
// SVG-cased, image -> img), attribute objects, implied closes and start/end indices (the cleaner cuts the
// markup it re-emits at those indices), whatever the chunking.
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { Attributes, HtmlTree } from '../../../../src/guard/response/html-tree.ts';
import { chunks, randomHtml, seeded } from './random-html.ts';

type Event = ReadonlyArray<unknown>;

function parserEvents(pieces: readonly string[]): Event[] {
  const out: Event[] = [];
  const at = (): [number, number] => [p.startIndex, p.endIndex];
  const p: Parser = new Parser(
    {
      onopentag: (name, attribs) => out.push(['open', name, Object.entries(attribs), ...at()]),
      onclosetag: (name, implied) => out.push(['close', name, implied, ...at()]),
      ontext: (text) => out.push(['text', text, ...at()]),
      oncomment: (data) => out.push(['comment', data, ...at()]),
      oncommentend: () => out.push(['commentend', ...at()]),
      onprocessinginstruction: () => out.push(['markup', ...at()]),
    },
    { decodeEntities: true, recognizeSelfClosing: false },
  );
  for (const piece of pieces) p.write(piece);
  p.end();
  return out;
}

function treeEvents(pieces: readonly string[]): Event[] {
  const out: Event[] = [];
  const at = (): [number, number] => [t.startIndex, t.endIndex];
  const t: HtmlTree = new HtmlTree({
    onOpenTag: (name, attrs) => out.push(['open', name, Object.entries(attrs.toObject()), ...at()]),
    onCloseTag: (name, implied) => out.push(['close', name, implied, ...at()]),
    onText: (text) => out.push(['text', text, ...at()]),
    onComment: (data) => out.push(['comment', data, ...at()]),
    onCommentEnd: () => out.push(['commentend', ...at()]),
    onMarkup: () => out.push(['markup', ...at()]),
  });
  for (const piece of pieces) t.write(piece);
  t.end();
  return out;
}

function expectParserEvents(html: string, label: string): void {
  for (const size of [1, 3, 7, 64, 4096, Math.max(1, html.length)]) {
    const pieces = chunks(html, size);
    expect(treeEvents(pieces), `${label}, chunks of ${size}`).toEqual(parserEvents(pieces));
  }
}

describe('HtmlTree', () => {
  const CASES: ReadonlyArray<readonly [string, string]> = [
    ['implied closes', '<ul><li>a<li>b</ul><p>x<div>y</div><table><tr><td>1<td>2<tr><th>h</table><dl><dt>a<dd>b</dl><select><option>1<option>2</select>'],
    ['close tags without an open element', '</p></br></div><p></span></p></BR>'],
    ['a nested form is ignored, attributes and all', '<form a=1><div><form b=2 c=3>inner</form></div></form>'],
    ['void elements, ours and the Parser\'s', '<img src=a><br><keygen><basefont><input type=hidden><hr/>'],
    ['foreign content', '<svg><clippath/><foreignobject><p>html</p><image href=x /></foreignobject><image/><![CDATA[ c ]]></svg><image><math><mi>x</mi></math>'],
    ['foreign content integration points', '<svg><desc><svg><title>t</title></svg></desc></svg><title>a &amp; b</title>'],
    ['attribute names: case, duplicates, prototype keys', '<p ALT=1 alt=2 Title="t" __proto__=x constructor=y 1=one 0=zero hidden>x</p>'],
    ['close tags with attributes and junk', '<div>a</div foo="x">b</ div>c</div\n>'],
    ['comments, declarations, CDATA outside foreign content', '<!doctype html><!-- c --><![CDATA[ x ]]><?php echo 1 ?><!x>'],
    ['a document cut inside a tag', '<div><p class="a'],
    ['a document cut inside a comment', '<div><!-- never closed'],
    ['a tag with many attributes, some repeated', `<div ${Array.from({ length: 40 }, (_, i) => `a${i % 25}="v${i}"`).join(' ')} ALT=x>t</div>`],
  ];
  for (const [name, html] of CASES) it(`gives the Parser's events: ${name}`, () => expectParserEvents(html, name));

  it("gives the Parser's events on random documents", () => {
    const r = seeded(11);
    for (let n = 0; n < 60; n++) expectParserEvents(randomHtml(r, 100 + Math.floor(r() * 2000)), `document ${n}`);
  });
});

describe('Attributes', () => {
  it('keeps the first of a repeated name and is reusable from tag to tag', () => {
    const a = new Attributes();
    a.add('alt', 'first');
    a.add('title', 't');
    a.add('alt', 'second');
    expect(a.get('alt')).toBe('first');
    expect(a.count).toBe(2);
    a.clear();
    expect(a.get('alt')).toBeUndefined();
    a.add('style', 's');
    expect(a.toObject()).toEqual({ style: 's' });
  });

  it('still keeps the first of a name on a tag with many attributes (looked up through an index)', () => {
    const a = new Attributes();
    for (let i = 0; i < 40; i++) a.add(`a${i % 30}`, `v${i}`);
    expect(a.count).toBe(30);
    expect(a.get('a3')).toBe('v3');
    expect(a.get('a29')).toBe('v29');
    expect(a.get('a30')).toBeUndefined();
    a.clear();
    a.add('a3', 'new');
    expect(a.get('a3')).toBe('new');
    expect(a.get('a4')).toBeUndefined();
  });
});
