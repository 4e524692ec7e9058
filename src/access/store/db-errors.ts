/** Which integrity constraint a failed statement violated, read portably from the driver error. */
export type ConstraintViolation = "unique" | "foreign-key";

// better-sqlite3 reports extended SQLite result codes; `pg` reports SQLSTATE (class 23).
const VIOLATIONS = new Map<string, ConstraintViolation>([
  ["SQLITE_CONSTRAINT_UNIQUE", "unique"],
  ["SQLITE_CONSTRAINT_PRIMARYKEY", "unique"],
  ["SQLITE_CONSTRAINT_FOREIGNKEY", "foreign-key"],
  ["23505", "unique"],
  ["23503", "foreign-key"],
]);

/** The constraint `err` violated, or undefined when it is some other failure. */
export function constraintViolation(err: unknown): ConstraintViolation | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? VIOLATIONS.get(err.code) : undefined;
}
