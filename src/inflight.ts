// Counts exchanges in flight so SIGTERM can wait for them (bounded) before closing.
export interface Inflight {
  add(): () => void;
  readonly count: number;
  /** Resolves when nothing is in flight or after timeoutMs. */
  idle(timeoutMs: number): Promise<void>;
}

export function createInflight(): Inflight {
  let count = 0;
  let waiters: (() => void)[] = [];
  return {
    get count() {
      return count;
    },
    add() {
      count++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        count--;
        if (count === 0) {
          for (const w of waiters) w();
          waiters = [];
        }
      };
    },
    idle(timeoutMs) {
      if (count === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
