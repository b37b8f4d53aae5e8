// Checksums and range rules that separate real identifiers from digit strings that merely look like them.

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

type Range = readonly [lo: number, hi: number, prefixLength: number, lengths: readonly number[]];
const L16 = [16];
const L16_19 = [16, 17, 18, 19];

// Issuer identification ranges (ISO/IEC 7812) of the networks in common use; a Luhn-valid number outside
// them (a 1-prefixed timestamp, an account id) is not treated as a card.
const IIN: readonly Range[] = [
  [4, 4, 1, [13, 16, 19]], // Visa
  [51, 55, 2, L16], // Mastercard
  [2221, 2720, 4, L16], // Mastercard 2-series
  [34, 34, 2, [15]], // Amex
  [37, 37, 2, [15]],
  [6011, 6011, 4, L16_19], // Discover
  [644, 649, 3, L16_19],
  [65, 65, 2, L16_19],
  [3528, 3589, 4, L16_19], // JCB
  [300, 305, 3, [14, 15, 16, 17, 18, 19]], // Diners
  [36, 36, 2, [14, 15, 16, 17, 18, 19]],
  [38, 39, 2, [16, 17, 18, 19]],
  [62, 62, 2, L16_19], // UnionPay
  [2200, 2204, 4, L16], // Mir
  [5018, 5018, 4, [12, 13, 14, 15, 16, 17, 18, 19]], // Maestro
  [5020, 5020, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
  [5038, 5038, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
  [5893, 5893, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
  [6304, 6304, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
  [6759, 6759, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
  [6761, 6763, 4, [12, 13, 14, 15, 16, 17, 18, 19]],
];

export function cardIinValid(digits: string): boolean {
  for (const [lo, hi, n, lengths] of IIN) {
    const p = Number(digits.slice(0, n));
    if (p >= lo && p <= hi && lengths.includes(digits.length)) return true;
  }
  return false;
}

export function isCardNumber(digits: string): boolean {
  return digits.length >= 12 && digits.length <= 19 && cardIinValid(digits) && luhnValid(digits);
}

const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24,
  PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28,
  TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

/** ISO 13616: the country's length and the mod-97 check over the rearranged number. */
export function ibanValid(compact: string): boolean {
  const len = IBAN_LENGTHS[compact.slice(0, 2)];
  if (len === undefined || compact.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  const moved = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? String(c - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

/** SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999; the advertised sample numbers are not people. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = area + group + serial;
  return whole !== '078051120' && whole !== '219099999' && whole !== '123456789';
}

/** Korean resident registration number: a real birth date, gender digit 1-8 and the mod-11 check digit. */
export function krrnValid(digits: string): boolean {
  if (!/^\d{13}$/.test(digits)) return false;
  const month = Number(digits.slice(2, 4));
  const day = Number(digits.slice(4, 6));
  const g = digits.charCodeAt(6) - 48;
  if (month < 1 || month > 12 || day < 1 || day > 31 || g < 1 || g > 8) return false;
  const weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (digits.charCodeAt(i) - 48) * weights[i]!;
  return (11 - (sum % 11)) % 10 === digits.charCodeAt(12) - 48;
}
