/**
 * The few `Reflect` metadata functions that `tsyringe` (a dependency of `@peculiar/x509` v2)
 * demands before it loads: without them, importing `@peculiar/x509` throws "tsyringe requires a
 * reflect polyfill". This module must be evaluated before `@peculiar/x509`, which is why
 * `./x509.ts` imports it first and every other module reaches the library through `./x509.ts`.
 *
 * Existing implementations (e.g. `reflect-metadata`, if it is ever added) are left in place.
 */

type MetadataKey = unknown;
type PropertyKey = string | symbol | undefined;

const store = new WeakMap<object, Map<PropertyKey, Map<MetadataKey, unknown>>>();

function table(target: object, property: PropertyKey, create: boolean): Map<MetadataKey, unknown> | undefined {
  let byProperty = store.get(target);
  if (byProperty === undefined) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (entries === undefined && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

function getOwnMetadata(key: MetadataKey, target: object, property?: PropertyKey): unknown {
  return table(target, property, false)?.get(key);
}

function hasOwnMetadata(key: MetadataKey, target: object, property?: PropertyKey): boolean {
  return table(target, property, false)?.has(key) ?? false;
}

function getMetadata(key: MetadataKey, target: object, property?: PropertyKey): unknown {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
    const entries = table(t, property, false);
    if (entries?.has(key)) return entries.get(key);
  }
  return undefined;
}

function hasMetadata(key: MetadataKey, target: object, property?: PropertyKey): boolean {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
    if (table(t, property, false)?.has(key)) return true;
  }
  return false;
}

function defineMetadata(key: MetadataKey, value: unknown, target: object, property?: PropertyKey): void {
  table(target, property, true)?.set(key, value);
}

function deleteMetadata(key: MetadataKey, target: object, property?: PropertyKey): boolean {
  return table(target, property, false)?.delete(key) ?? false;
}

function metadata(key: MetadataKey, value: unknown) {
  return (target: object, property?: PropertyKey): void => defineMetadata(key, value, target, property);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect["getMetadata"] !== "function") {
  Object.assign(reflect, {
    getMetadata,
    getOwnMetadata,
    hasMetadata,
    hasOwnMetadata,
    defineMetadata,
    deleteMetadata,
    metadata,
  });
}

export {};
