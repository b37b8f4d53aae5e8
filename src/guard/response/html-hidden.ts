// Is an element hidden from a human reader? Inline signals only (no stylesheet cascade): the `hidden`
// attribute, aria-hidden, inline CSS that hides (display, visibility, opacity, zero font size, off-screen
// positioning, clipping, zero size with overflow hidden, text coloured like its background), and elements
// whose content is never rendered (<template>, <noscript> when scripts run).
import type { Attributes } from './html-tree.ts';

const NEVER_RENDERED = new Set(['template', 'noscript']);

function parseStyle(style: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const decl of style.split(';')) {
    const i = decl.indexOf(':');
    if (i < 0) continue;
    const prop = decl.slice(0, i).trim().toLowerCase();
    const value = decl
      .slice(i + 1)
      .replace(/!important/i, '')
      .trim()
      .toLowerCase()
      .replace(/\s+/g, ' ');
    if (prop !== '') out.set(prop, value);
  }
  return out;
}

function isZeroLength(v: string | undefined): boolean {
  return v !== undefined && /^-?0*\.?0+(?:px|em|rem|pt|%|vw|vh|ex|ch)?$/.test(v);
}

function isFarOffscreen(v: string | undefined): boolean {
  if (v === undefined) return false;
  const m = /^(-?\d+(?:\.\d+)?)(px|em|rem|pt|%|vw|vh)?$/.exec(v);
  if (!m) return false;
  const n = Number(m[1]);
  const unit = m[2] ?? 'px';
  return unit === 'px' || unit === 'pt' ? n <= -500 : n <= -50;
}

function normaliseColour(v: string | undefined): string | null {
  if (v === undefined) return null;
  const c = v.replace(/\s/g, '');
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(c);
  if (short) return `#${short[1]!}${short[1]!}${short[2]!}${short[2]!}${short[3]!}${short[3]!}`;
  const rgb = /^rgba?\((\d+),(\d+),(\d+)(?:,([\d.]+))?\)$/.exec(c);
  if (rgb) {
    if (rgb[4] !== undefined && Number(rgb[4]) === 0) return 'transparent';
    return `#${[rgb[1], rgb[2], rgb[3]].map((x) => Number(x).toString(16).padStart(2, '0')).join('')}`;
  }
  const named: Record<string, string> = { white: '#ffffff', black: '#000000', red: '#ff0000' };
  return named[c] ?? c;
}

function styleReason(s: Map<string, string>): string | null {
  if (s.get('display') === 'none') return 'display-none';
  const vis = s.get('visibility');
  if (vis === 'hidden' || vis === 'collapse') return 'visibility-hidden';
  const opacity = s.get('opacity');
  if (opacity !== undefined && /^0*\.?0+%?$/.test(opacity)) return 'opacity-zero';
  if (isZeroLength(s.get('font-size'))) return 'font-size-zero';
  for (const p of ['left', 'top', 'right', 'text-indent', 'margin-left', 'margin-top']) if (isFarOffscreen(s.get(p))) return 'offscreen';
  const transform = s.get('transform');
  if (transform !== undefined && /scale\(\s*0(?:\.0+)?\s*(?:,\s*0(?:\.0+)?\s*)?\)/.test(transform)) return 'scaled-zero';
  const clip = s.get('clip');
  if (clip !== undefined && /rect\(\s*0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?[\s,]+0(?:px)?\s*\)/.test(clip)) return 'clipped';
  const clipPath = s.get('clip-path');
  if (clipPath !== undefined && /inset\(\s*(?:50|100)%|circle\(\s*0/.test(clipPath)) return 'clipped';
  const overflowHidden = s.get('overflow') === 'hidden';
  if (overflowHidden && (isZeroLength(s.get('height')) || isZeroLength(s.get('width')) || isZeroLength(s.get('max-height')))) return 'zero-size';
  const colour = normaliseColour(s.get('color'));
  if (colour === 'transparent') return 'transparent-text';
  const bg = normaliseColour(s.get('background-color') ?? s.get('background'));
  if (colour !== null && bg !== null && colour === bg) return 'text-colour-of-background';
  return null;
}

/** Why this element is hidden, or null when a reader can see it. */
export function findHidingReason(name: string, attribs: Attributes): string | null {
  if (NEVER_RENDERED.has(name)) return name;
  if (attribs.get('hidden') !== undefined) return 'hidden-attribute';
  if ((attribs.get('aria-hidden') ?? '').toLowerCase() === 'true') return 'aria-hidden';
  if (name === 'input' && (attribs.get('type') ?? '').toLowerCase() === 'hidden') return 'hidden-input';
  const style = attribs.get('style');
  if (style === undefined || style.length === 0) return null;
  return styleReason(parseStyle(style));
}
