// Log lines gathered in memory and handed to stdout's writer as one string per batch.
//
// Why not SonicBoom's own batching (`minLength`): on every write it measures the byte length of the whole
// batch pending so far (`Buffer.byteLength` of its last buffer, up to 16 KiB, flattened each time), so a line
// cost time in proportion to the batch before it: 1.1% of Sluice's CPU samples under the c=32 small-GET load,
// a third of the audit line's cost on its own. Here a line is pushed on an array and counted by its length; the
// writer sees one string per batch and measures it once.

/** What the batch writes to: pino.destination()'s SonicBoom, or any stream with the same methods. */
export interface LineSink {
  write(chunk: string): boolean;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
  end?(): void;
}

export interface LineBatchOptions {
  /** A batch is handed over once it holds this many characters. */
  readonly batchChars: number;
  /** And every this many milliseconds, whatever it holds. */
  readonly flushMs: number;
}

export class LineBatch {
  private parts: string[] = [];
  private chars = 0;
  private readonly sink: LineSink;
  private readonly batchChars: number;
  private readonly timer: NodeJS.Timeout;

  constructor(sink: LineSink, options: LineBatchOptions) {
    this.sink = sink;
    this.batchChars = options.batchChars;
    this.timer = setInterval(() => this.release(), options.flushMs);
    this.timer.unref();
    open.add(this);
  }

  write(line: string): boolean {
    this.parts.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.release();
    return true;
  }

  /** Hand over what is held, then let the sink drain (pino's `log.flush(cb)`). */
  flush(cb?: (err?: Error) => void): void {
    this.release();
    if (this.sink.flush) this.sink.flush(cb);
    else cb?.();
  }

  /** Hand over what is held and write it now (the exit hook below, and pino's final handlers). */
  flushSync(): void {
    this.release();
    this.sink.flushSync?.();
  }

  end(): void {
    clearInterval(this.timer);
    open.delete(this);
    this.release();
    this.sink.end?.();
  }

  private release(): void {
    if (this.parts.length === 0) return;
    const batch = this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.chars = 0;
    this.sink.write(batch);
  }
}

// A batch still in memory must reach stdout when the process ends: process.exit(), a natural end, or an
// uncaught exception ('exit' is emitted for all three). One listener for every batch, so the many Sluices a
// test process starts do not pile up listeners.
const open = new Set<LineBatch>();
process.on('exit', () => {
  for (const batch of open) {
    try {
      batch.flushSync();
    } catch {
      // stdout already closed or broken: nothing left to write to.
    }
  }
});
