// Bulk transfers allocate a fresh buffer for every socket read (64 KiB raw, 16 KiB of TLS cleartext); their JS
// handles are tiny, so the young generation fills slowly while the dead buffers pile up outside the heap. V8
// answers that pile (external memory pressure) with a full mark of the heap, and at line rate it does so about
// every 100 ms: 17-19 mark-compacts per 100 MiB through inspect mode, a quarter of Sluice's CPU in a perf
// profile, and peak RSS near 200 MiB. Collecting the young generation once every RECLAIM_BYTES of new buffers
// frees them before V8 sees pressure: 1 mark-compact per 100 MiB, about 40% less CPU per byte. A young
// collection costs well under a millisecond, and runs only while bytes flow; the check itself is one read of
// the heap statistics (0.4 us), so an idle proxy pays about 20 us a second.
import v8 from 'node:v8';
import vm from 'node:vm';

/** At 200 MiB/s a check sees about RECLAIM_BYTES of new buffers. */
const CHECK_MS = 20;
const RECLAIM_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major'; execution: 'sync' | 'async' }) => void;

/** V8's gc(), exposed for this process without a command-line flag (the bin, npm start and the image agree). */
function collector(): Collect | null {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Collect;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    return null;
  }
}

export interface BufferReclaim {
  stop(): void;
}

/**
 * Old-generation headroom after a full collection, as a percentage of the live heap (in the slow downloads V8
 * had chosen 50%). With a live heap of 32 MB, 50% is 16 MB, no more than the young generation's 16 MB, and V8
 * then starts the next full mark at once: back-to-back mark-compacts every ~100 ms through a whole download
 * once a busy proxy's heap has grown (`--trace-incremental-marking`: every start at exactly 16 MB of slack).
 * 100% keeps the headroom above the young generation for any heap over 16 MB. NODE_OPTIONS does not accept
 * this V8 flag, so it is set here, before traffic.
 */
const HEAP_GROWING_PERCENT = 100;

/**
 * V8 pretenures an allocation site (allocates its objects straight in the old generation) once enough of its
 * objects survived a young collection. A proxy's per-request objects live for a request, well under the ~40 ms
 * between scavenges at c=1, yet under load V8 pretenured sites of the response filter: 4.5 KB per small GET
 * reached the old generation (`bench/profile.ts full 8 --c 1 --promoted`), about 0.6 MB per scavenge with
 * `--trace-gc`, and each such object pointing at young ones made the next scavenge dearer. Off, the heap after a
 * scavenge stays level (35.0-35.2 MB) and scavenges take 0.5-0.6 ms instead of 0.75-1.1; Sluice's CPU per small
 * GET at c=1 was 0.6% and 5.5% lower in two `bench/ab.ts --c 1` runs (6 of 10 and 5 of 8 rounds).
 */
const PRETENURING_FLAG = '--no-allocation-site-pretenuring';

export function startBufferReclaim(): BufferReclaim {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  v8.setFlagsFromString(PRETENURING_FLAG);
  const gc = collector();
  if (gc === null) return { stop() {} };
  let baseline = v8.getHeapStatistics().external_memory;
  const timer = setInterval(() => {
    const external = v8.getHeapStatistics().external_memory;
    if (external - baseline < RECLAIM_BYTES) {
      // A collection V8 ran on its own lowered the level: follow it down.
      if (external < baseline) baseline = external;
      return;
    }
    gc({ type: 'minor', execution: 'sync' });
    baseline = v8.getHeapStatistics().external_memory;
  }, CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
