// Request bodies the bench uploads. The upload is a JSON document of ordinary prose (what an agent sends to a
// model or an API), not random bytes: random bytes would be refused by the full guard as a high-entropy blob,
// which measures the block, not the scan.
const WORDS = (
  'the agent reads the repository and writes a summary of each module before it proposes a change to the build ' +
  'configuration so that tests run in parallel while the proxy keeps every request inside the policy it was given'
).split(' ');

/** The suite's upload: 10 MiB of JSON prose. */
export const UPLOAD_BYTES = 10 * 1024 * 1024;

export function uploadBody(bytes: number): Buffer {
  const head = '{"model":"bench-model","messages":[{"role":"user","content":"';
  const tail = '"}]}';
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; ; i++) {
    const w = (i % 97 === 96 ? '\\n' : ' ') + WORDS[(i * 7) % WORDS.length]!;
    if (size + w.length > bytes) break;
    parts.push(w);
    size += w.length;
  }
  parts.push(' '.repeat(Math.max(0, bytes - size)));
  return Buffer.from(head + parts.join('') + tail, 'utf8');
}
