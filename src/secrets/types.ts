// Secret values travel in a type that cannot be printed: toString/toJSON/inspect show only the name.
import { inspect } from 'node:util';

export class SecretValue {
  readonly name: string;
  readonly #value: string;
  constructor(name: string, value: string) {
    this.name = name;
    this.#value = value;
  }
  /** The raw value. Call only where it is written to the upstream or compared against traffic. */
  reveal(): string {
    return this.#value;
  }
  /** Same name and same value (rotation detection), without exposing either value. */
  equals(other: SecretValue): boolean {
    return this.name === other.name && this.#value === other.#value;
  }
  toString(): string {
    return `[secret ${this.name}]`;
  }
  toJSON(): string {
    return `[secret ${this.name}]`;
  }
  [inspect.custom](): string {
    return `[secret ${this.name}]`;
  }
}

/** One backend. `get` resolves undefined when the backend has no such secret, and rejects when it is down. */
export interface SecretSource {
  readonly kind: string;
  get(name: string): Promise<string | undefined>;
  /** Reachability for /readyz. */
  healthy(): Promise<boolean>;
  /** Called when the source's data may have changed (file watch); returns an unsubscribe. */
  onChange?(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Thrown by a backend that cannot answer (down, timed out, unreadable). Carries no value, only a reason. */
export class SecretSourceError extends Error {
  readonly kind: string;
  constructor(kind: string, message: string, options?: ErrorOptions) {
    super(`${kind}: ${message}`, options);
    this.kind = kind;
  }
}

/** Knobs for tests and embedders; production uses the defaults. */
export interface SecretStoreOptions {
  /** Interval of the mtime poll that backs up fs.watch for file and dir backends. */
  readonly pollMs?: number;
  /** Environment the env backend reads (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}
