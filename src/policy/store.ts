// The live policy: loaded once (refusing to start on a broken policy), then reloaded when files change or on
// SIGHUP. A reload is validated whole and swapped with one assignment, so a request holds the Policy it started
// with and a corrupt edit changes nothing: the last good policy keeps serving and status() reports the problems.
import type { Logger } from '../audit/index.ts';
import { ConfigError, formatProblem, type SourceProblem } from '../errors.ts';
import { loadPolicy, type ParseCache, type PolicyLoadOptions } from './load.ts';
import type { Policy } from './types.ts';
import { watchPolicyPath, type PolicyWatcher } from './watch.ts';

export interface PolicyStatus {
  readonly ok: boolean;
  readonly problems: readonly SourceProblem[];
  readonly loadedAt: Date;
  readonly reloads: { readonly ok: number; readonly failed: number };
}

export class PolicyStore {
  readonly #path: string;
  readonly #options: PolicyLoadOptions;
  readonly #log: Logger;
  readonly #listeners = new Set<(ok: boolean) => void>();
  readonly #cache: ParseCache = new Map();
  #policy: Policy;
  #status: PolicyStatus;
  #watcher: PolicyWatcher | null = null;

  private constructor(policyPath: string, options: PolicyLoadOptions, log: Logger, policy: Policy) {
    this.#path = policyPath;
    this.#options = options;
    this.#log = log;
    this.#policy = policy;
    this.#status = Object.freeze({ ok: true, problems: [], loadedAt: new Date(), reloads: { ok: 0, failed: 0 } });
  }

  /** Load and start watching. Throws ConfigError when the first load fails: Sluice refuses to start. */
  static open(
    policyPath: string,
    options: PolicyLoadOptions,
    log: Logger,
    watchOptions: { readonly watch?: boolean; readonly pollMs?: number; readonly fsWatch?: boolean } = {},
  ): PolicyStore {
    const cache: ParseCache = new Map();
    const r = loadPolicy(policyPath, options, cache);
    if (!r.ok) throw new ConfigError(r.problems);
    const store = new PolicyStore(policyPath, options, log, r.policy);
    for (const [k, v] of cache) store.#cache.set(k, v);
    if (watchOptions.watch !== false) {
      store.#watcher = watchPolicyPath(policyPath, () => store.reload(), { pollMs: watchOptions.pollMs ?? 1000, fsWatch: watchOptions.fsWatch ?? true });
    }
    log.info({ policy: policyPath, files: r.policy.files, entries: r.policy.entryCount }, 'policy loaded');
    return store;
  }

  current(): Policy {
    return this.#policy;
  }

  status(): PolicyStatus {
    return this.#status;
  }

  /** Load again now (file change or SIGHUP). Returns whether the new policy is serving. */
  reload(): boolean {
    const started = performance.now();
    const r = loadPolicy(this.#path, this.#options, this.#cache);
    const { ok, failed } = this.#status.reloads;
    if (r.ok) {
      this.#policy = r.policy;
      this.#status = Object.freeze({ ok: true, problems: [], loadedAt: new Date(), reloads: { ok: ok + 1, failed } });
      const ms = Math.round((performance.now() - started) * 10) / 10;
      this.#log.info({ policy: this.#path, files: r.policy.files, entries: r.policy.entryCount, ms }, 'policy reloaded');
    } else {
      const problems = Object.freeze(r.problems);
      this.#status = Object.freeze({ ok: false, problems, loadedAt: this.#status.loadedAt, reloads: { ok, failed: failed + 1 } });
      this.#log.error({ policy: this.#path, problems: problems.map(formatProblem) }, 'policy reload failed; the last good policy keeps serving');
    }
    for (const listener of this.#listeners) {
      try {
        listener(r.ok);
      } catch (e) {
        this.#log.error({ err: (e as Error).message }, 'policy reload listener failed');
      }
    }
    return r.ok;
  }

  onReload(listener: (ok: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = null;
    this.#listeners.clear();
  }
}
