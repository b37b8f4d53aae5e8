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
