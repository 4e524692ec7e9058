import { FernlinkError } from "../../protocol/errors.js";

/** A point in time as a Date or an ISO-8601 string. */
export type Instant = Date | string;

/**
 * The canonical `toISOString()` form of `t`. Times are compared as text in SQL, which is only
 * correct when every stored time has this exact fixed-width UTC format.
 */
export function iso(t: Instant): string {
  const date = typeof t === "string" ? new Date(t) : t;
  if (Number.isNaN(date.getTime())) {
    throw new FernlinkError("invalid-input", `not a valid time: ${String(t)}`);
  }
  return date.toISOString();
}
