// Small text measures shared by the stages.

/** Shannon entropy in bits per character. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    h -= p * Math.log2(p);
  }
  return h;
}

export function isWordCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

const PLACEHOLDER_WORDS = ['example', 'placeholder', 'changeme', 'redacted', 'dummy', 'your_', 'your-', 'yourkey', 'yourtoken', 'sluice:', '12345678', 'abcdefgh', 'xxxx', 'fake'];

/**
 * Documentation and template values (AKIAIOSFODNN7EXAMPLE, xxxx…, <token>, ${TOKEN}, a run of one character)
 * are not secrets: reporting them would teach operators to ignore findings.
 */
export function looksLikePlaceholder(value: string): boolean {
  const lower = value.toLowerCase();
  for (const w of PLACEHOLDER_WORDS) if (lower.includes(w)) return true;
  if (lower.includes('${') || lower.includes('{{') || lower.includes('%(') || lower.includes('...') || lower.includes('***')) return true;
  if (lower.includes('<') && lower.includes('>')) return true;
  // Indentation is not a placeholder: only runs of a non-space character count.
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    const c = value.charCodeAt(i);
    run = c === value.charCodeAt(i - 1) && c > 32 ? run + 1 : 1;
    if (run >= 6) return true;
  }
  return false;
}
