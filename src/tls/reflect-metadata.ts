// @peculiar/x509 registers its algorithm providers through tsyringe, which refuses to load unless a
// Reflect metadata polyfill is installed first ("tsyringe requires a reflect polyfill"). The usual
// answer is the `reflect-metadata` package, which is not a dependency here; tsyringe only calls
// getMetadata, getOwnMetadata and defineMetadata (and tslib's __metadata may call Reflect.metadata), so
// this installs exactly those, and only when nothing else has. If `reflect-metadata` is ever added as a
// dependency, import it instead and delete this file.
//
// This is a process-wide polyfill of a language-level API (like any polyfill), not Sluice state: it holds
// class metadata written once when the library's modules load and is the same for every Sluice instance.

type MetadataMap = Map<unknown, unknown>;

interface ReflectMetadata {
  getMetadata(key: unknown, target: object, property?: PropertyKey): unknown;
  getOwnMetadata(key: unknown, target: object, property?: PropertyKey): unknown;
  defineMetadata(key: unknown, value: unknown, target: object, property?: PropertyKey): void;
  hasMetadata(key: unknown, target: object, property?: PropertyKey): boolean;
  metadata(key: unknown, value: unknown): (target: object, property?: PropertyKey) => void;
}

function install(): void {
  const R = Reflect as unknown as Partial<ReflectMetadata>;
  if (typeof R.getMetadata === 'function') return;
  const store = new WeakMap<object, Map<PropertyKey | undefined, MetadataMap>>();
  const own = (target: object, property: PropertyKey | undefined, create: boolean): MetadataMap | undefined => {
    let byProperty = store.get(target);
    if (!byProperty) {
      if (!create) return undefined;
      byProperty = new Map();
      store.set(target, byProperty);
    }
    let map = byProperty.get(property);
    if (!map && create) {
      map = new Map();
      byProperty.set(property, map);
    }
    return map;
  };
  const lookup = (key: unknown, target: object, property?: PropertyKey): { found: boolean; value: unknown } => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const map = own(t, property, false);
      if (map?.has(key)) return { found: true, value: map.get(key) };
    }
    return { found: false, value: undefined };
  };
  const api: ReflectMetadata = {
    getMetadata: (key, target, property) => lookup(key, target, property).value,
    getOwnMetadata: (key, target, property) => own(target, property, false)?.get(key),
    defineMetadata: (key, value, target, property) => {
      own(target, property, true)?.set(key, value);
    },
    hasMetadata: (key, target, property) => lookup(key, target, property).found,
    metadata: (key, value) => (target, property) => {
      own(target, property, true)?.set(key, value);
    },
  };
  for (const [name, fn] of Object.entries(api)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}

install();
