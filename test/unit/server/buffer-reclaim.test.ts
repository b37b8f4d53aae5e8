// Dead socket-read buffers must not pile up to V8's own trigger (some 64 MiB outside the heap): the reclaim
// collects them while bytes flow. Each case runs in a fresh Node process, as the proxy does, so no test
// runner activity collects garbage on the reclaim's behalf; the control run without it shows the pile-up.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../../../src/server/buffer-reclaim.ts', import.meta.url));

/** MiB held outside the heap, after dropping 40 MiB of 64 KiB buffers and waiting 500 ms, with `held` MiB kept alive. */
function externalAfterDrop(withReclaim: boolean, heldMiB: number): number {
  const script = `
    import v8 from 'node:v8';
    import { startBufferReclaim } from ${JSON.stringify(MODULE)};
    const external = () => v8.getHeapStatistics().external_memory / 1048576;
    const reclaim = ${withReclaim} ? startBufferReclaim() : { stop() {} };
    const before = external();
    const held = Array.from({ length: ${heldMiB * 16} }, () => Buffer.alloc(65536, 1));
    let x = 0;
    for (let n = 0; n < 640; n++) x ^= Buffer.allocUnsafeSlow(65536)[0];
    setTimeout(() => {
      if (!held.every((b) => b[0] === 1 && b[65535] === 1)) throw new Error('a held buffer changed');
      console.log(JSON.stringify({ mib: external() - before, x: x & 0 }));
      reclaim.stop();
    }, 500);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return (JSON.parse(out) as { mib: number }).mib;
}

describe('buffer reclaim', () => {
  it('frees 40 MiB of dead read buffers within a few checks; without it they stay', () => {
    expect(externalAfterDrop(false, 0)).toBeGreaterThan(35);
    expect(externalAfterDrop(true, 0)).toBeLessThan(8);
  });

  it('keeps buffers that are still referenced', () => {
    const mib = externalAfterDrop(true, 24);
    expect(mib).toBeGreaterThan(22);
    expect(mib).toBeLessThan(32);
  });
});
