// PII in what the agent sends: emails, phones, payment cards, IBANs, US SSNs, Korean RRNs and (opt-in) IPs.
// Candidates come from a few cheap passes (digit clusters, IBAN shapes, '@'); each is then validated by its
// checksum or numbering plan, and context words drop digit strings that are labelled as something else.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { isWordCode } from '../entropy.ts';
import type { Action, Finding, GuardStage, ScanInput } from '../types.ts';
import type { GuardSettings } from '../settings.ts';
import { ibanValid, isCardNumber, krrnValid, ssnValid } from './pii-checks.ts';

import { disabledRules, PII_KINDS } from '../rules/catalog.ts';

export { PII_KINDS };
export type PiiKind = (typeof PII_KINDS)[number];

const DEFAULT_ACTION: Record<PiiKind, Action | 'off'> = { email: 'redact', phone: 'redact', card: 'redact', iban: 'redact', ssn: 'redact', krrn: 'redact', ip: 'off' };

type Emit = (kind: PiiKind, start: number, end: number) => void;

// A run of digits with the separators people write numbers with; every PII kind below needs 9+ digits.
const CLUSTER = /(?<![\w.])\+?\(?\d[\d ().\-]{7,40}\d/g;
const CARD = /(?<![\w.])\d(?:[ -]?\d){11,18}(?![\w]|[.,]\d)/g;
const SSN = /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g;
const SSN_BARE = /(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])/g;
const KRRN = /(?<![\w-])(\d{6})-?([1-8]\d{6})(?![\w-])/g;
const PHONE_INTL = /(?<![\w+])\+\d[\d ().\-]{6,20}\d(?!\w)/g;
const PHONE_US = /(?<![\w(-])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?![\w-])/g;
const PHONE_KR = /(?<![\w-])0\d{1,2}-\d{3,4}-\d{4}(?![\w-])/g;
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g;
const IPV4 = /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.])/g;

// Labels that say a digit string is not a card (or not a phone): an order number is not a card.
const NOT_A_CARD = /(?:order|invoice|tracking|track|reference|ref|confirmation|transaction|txn|shipment|serial|sku|isbn|ticket|booking|account|acct|customer|member|routing|imei|id)\b[^\n\d]{0,24}$/i;
const CARD_WORDS = /(?:card|visa|master|amex|credit|debit|cc|pan|cvv|payment)/i;
const SSN_WORDS = /(?:ssn|social security|soc\.? ?sec|taxpayer|tin)\b[^\n\d]{0,24}$/i;

function before(text: string, at: number, n = 48): string {
  return text.slice(Math.max(0, at - n), at);
}

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

function each(re: RegExp, text: string, fn: (m: RegExpExecArray) => void): void {
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) fn(m);
}

/** What a cluster is made of: each kind's regex below needs some of it, so a kind that cannot match is not run. */
interface ClusterShape {
  readonly digits: number;
  /** A maximal run of exactly nine digits (a bare SSN). */
  readonly nineRun: boolean;
  readonly plus: boolean;
  readonly dash: boolean;
  readonly space: boolean;
  /** '(', '-', '.' or ' ': what a US phone number is written with. */
  readonly usSeparator: boolean;
}

function shapeOf(cluster: string): ClusterShape {
  let digits = 0;
  let run = 0;
  let nineRun = false;
  let plus = false;
  let dash = false;
  let space = false;
  let usSeparator = false;
  for (let i = 0; i <= cluster.length; i++) {
    const c = i < cluster.length ? cluster.charCodeAt(i) : -1;
    if (c >= 48 && c <= 57) {
      digits++;
      run++;
      continue;
    }
    if (run === 9) nineRun = true;
    run = 0;
    if (c === 43) plus = true;
    else if (c === 45) dash = true;
    else if (c === 32) space = true;
    if (c === 40 || c === 45 || c === 46 || c === 32) usSeparator = true;
  }
  return { digits, nineRun, plus, dash, space, usSeparator };
}

function clusterKinds(text: string, base: number, cluster: string, emit: Emit, want: (k: PiiKind) => boolean): void {
  const taken: Array<[number, number]> = [];
  const free = (s: number, e: number) => taken.every(([a, b]) => e <= a || s >= b);
  const mark = (k: PiiKind, s: number, e: number) => {
    taken.push([s, e]);
    emit(k, base + s, base + e);
  };
  const shape = shapeOf(cluster);
  if (want('card') && shape.digits >= 12)
    each(CARD, cluster, (m) => {
      const digits = m[0].replace(/[ -]/g, '');
      if (!isCardNumber(digits)) return;
      const label = before(text, base + m.index);
      if (NOT_A_CARD.test(label) && !CARD_WORDS.test(label)) return;
      mark('card', m.index, m.index + m[0].length);
    });
  if (want('krrn') && shape.digits >= 13)
    each(KRRN, cluster, (m) => {
      if (krrnValid(m[1]! + m[2]!) && free(m.index, m.index + m[0].length)) mark('krrn', m.index, m.index + m[0].length);
    });
  if (want('ssn')) {
    if (shape.dash || shape.space)
      each(SSN, cluster, (m) => {
        if (ssnValid(m[1]!, m[3]!, m[4]!) && free(m.index, m.index + m[0].length)) mark('ssn', m.index, m.index + m[0].length);
      });
    // Nine bare digits are only an SSN when labelled as one.
    if (shape.nineRun)
      each(SSN_BARE, cluster, (m) => {
        if (ssnValid(m[1]!, m[2]!, m[3]!) && SSN_WORDS.test(before(text, base + m.index)) && free(m.index, m.index + 9)) mark('ssn', m.index, m.index + 9);
      });
  }
  if (want('phone')) phones(cluster, shape, (s, e) => free(s, e) && (mark('phone', s, e), true));
}

function phones(cluster: string, shape: ClusterShape, accept: (s: number, e: number) => boolean): void {
  const tryParse = (re: RegExp, country: CountryCode | undefined) =>
    each(re, cluster, (m) => {
      const p = parsePhoneNumberFromString(m[0], country);
      if (p?.isValid()) accept(m.index, m.index + m[0].length);
    });
  if (shape.plus) tryParse(PHONE_INTL, undefined);
  if (shape.dash) tryParse(PHONE_KR, 'KR');
  if (shape.usSeparator && shape.digits >= 10) tryParse(PHONE_US, 'US');
}

const DOC_DOMAINS = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$/i;
const FILE_TLDS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'js', 'css', 'ts', 'map', 'json']);
/** ASCII code to 1 when the character may appear in an address's local part (2) or domain (1 | 2). */
const EMAIL_CHARS = (() => {
  const t = new Uint8Array(128);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-') t[c.charCodeAt(0)] = 3;
  for (const c of '_%+') t[c.charCodeAt(0)] = 2;
  return t;
})();
const LOCAL = 2;
const DOMAIN = 1;

const isEmailChar = (text: string, i: number, kind: number): boolean => {
  const c = text.charCodeAt(i);
  return c < 128 && (EMAIL_CHARS[c]! & kind) !== 0;
};

function emails(text: string, emit: Emit): void {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let s = at;
    while (s > 0 && at - s < 64 && isEmailChar(text, s - 1, LOCAL)) s--;
    let e = at + 1;
    while (e < text.length && e - at < 255 && isEmailChar(text, e, DOMAIN)) e++;
    while (e > at + 1 && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
    while (s < at && text.charCodeAt(s) === 46) s++;
    if (s === at) continue;
    const domain = text.slice(at + 1, e);
    const tld = /\.([A-Za-z]{2,24})$/.exec(domain)?.[1];
    if (!tld || FILE_TLDS.has(tld.toLowerCase()) || DOC_DOMAINS.test(domain)) continue;
    if (text.slice(s, at).toLowerCase() === 'git') continue;
    emit('email', s, e);
  }
}

function actionFor(settings: GuardSettings, kind: PiiKind): Action | 'off' {
  const a = settings.pii[kind] ?? DEFAULT_ACTION[kind];
  if (disabledRules(settings.disableRules).has(`pii/${kind}`)) return 'off';
  return a;
}

/** The kinds a host's settings turn on, with their actions: once per settings object, not per scanned string. */
const actionsBySettings = new WeakMap<GuardSettings, ReadonlyMap<PiiKind, Action>>();

function actionsFor(settings: GuardSettings): ReadonlyMap<PiiKind, Action> {
  let actions = actionsBySettings.get(settings);
  if (actions === undefined) {
    const m = new Map<PiiKind, Action>();
    for (const k of PII_KINDS) {
      const a = actionFor(settings, k);
      if (a !== 'off') m.set(k, a);
    }
    actions = m;
    actionsBySettings.set(settings, actions);
  }
  return actions;
}

export function createPiiStage(): GuardStage {
  return {
    id: 'pii',
    directions: ['request'],
    maxMatchLength: 320,
    accepts: (ctx) => actionsFor(ctx.settings).size > 0,
    scan({ text, offset, ctx }: ScanInput): Finding[] {
      const actions = actionsFor(ctx.settings);
      const out: Finding[] = [];
      const emit: Emit = (kind, s, e) => {
        const action = actions.get(kind);
        if (action) out.push({ rule: `pii/${kind}`, kind, severity: kind === 'email' || kind === 'ip' ? 'low' : 'high', span: [offset + s, offset + e], action });
      };
      const want = (k: PiiKind) => actions.has(k);
      if (want('card') || want('ssn') || want('krrn') || want('phone')) {
        each(CLUSTER, text, (m) => {
          // A digit string glued to letters (a hash, an id like abc4111…) is not a number someone wrote.
          const after = text.charCodeAt(m.index + m[0].length);
          if (isWordCode(after)) return;
          if (digitCount(m[0]) >= 9) clusterKinds(text, m.index, m[0], emit, want);
        });
      }
      if (want('iban')) each(IBAN, text, (m) => ibanValid(m[0].replace(/ /g, '')) && emit('iban', m.index, m.index + m[0].length));
      if (want('email')) emails(text, emit);
      if (want('ip')) each(IPV4, text, (m) => emit('ip', m.index, m.index + m[0].length));
      return out;
    },
  };
}
