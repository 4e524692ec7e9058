// Made on first use: building a collator costs about 10 ms, which every CLI start would pay.
let collator: Intl.Collator | undefined;

/** Compares names as people read them: press-7 before press-10, then case decides ties. */
export function naturalCompare(a: string, b: string): number {
  collator ??= new Intl.Collator("en", { numeric: true });
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Sorts records by their `name` in natural order (a new array). */
export function byNaturalName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => naturalCompare(a.name, b.name));
}
