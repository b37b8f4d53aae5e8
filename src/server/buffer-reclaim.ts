// Bulk transfers allocate a fresh buffer for every socket read (64 KiB each); their JS handles are tiny, so the
// young generation fills slowly and V8 collects only once some 64 MiB of dead buffers have piled up outside
// the heap. At 150 MiB/s that is most of the proxy's memory budget held by garbage (bench/results: peak RSS
// 190-250 MiB). A check every 100 ms runs a young-generation collection once dead buffers could pass
// RECLAIM_BYTES: it costs about a millisecond and only runs while bytes flow, so an idle proxy pays nothing.
import v8 from 'node:v8';
import vm from 'node:vm';

const CHECK_MS = 100;
const RECLAIM_BYTES = 16 * 1024 * 1024;

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

export function startBufferReclaim(): BufferReclaim {
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
