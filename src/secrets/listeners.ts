// The change-listener set every backend exposes through SecretSource.onChange.
export interface ChangeListeners {
  add(listener: () => void): () => void;
  /** Call every listener; a listener that unsubscribes while being called does not disturb the others. */
  notify(): void;
  clear(): void;
}

export function createChangeListeners(): ChangeListeners {
  const listeners = new Set<() => void>();
  return {
    add(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notify() {
      for (const l of [...listeners]) l();
    },
    clear() {
      listeners.clear();
    },
  };
}
