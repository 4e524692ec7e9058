import { IsoTime, MAX_PAGE } from "../protocol/api-audit.js";
import { UsageError } from "../protocol/errors.js";

/** How a listing is printed. */
export type ListingFormat = "table" | "json" | "csv";

/** `--json` or `--csv` (not both), else a table. */
export function listingFormat(flags: { json?: boolean; csv?: boolean }): ListingFormat {
  if (flags.json && flags.csv) throw new UsageError("--json and --csv exclude each other: pick one");
  return flags.json ? "json" : flags.csv ? "csv" : "table";
}

/** `--since ISO` as the canonical UTC time the API expects. */
export function parseSince(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!IsoTime.safeParse(text).success) throw new UsageError(`--since "${text}" is not an ISO 8601 time; use e.g. 2026-11-27 or 2026-11-27T10:00:00Z`);
  return new Date(text).toISOString();
}

/** `--limit N`: a positive whole number, or undefined for "all". */
export function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new UsageError(`--limit "${text}" must be a positive whole number`);
  return limit;
}

/**
 * Fetches a newest-first listing page by page (each at most MAX_PAGE, the next one `before`
 * the last seq seen) until `limit` items or the end.
 */
export async function fetchPages<T extends { seq: number }>(
  fetchPage: (query: URLSearchParams) => Promise<T[]>,
  base: Record<string, string | undefined>,
  limit: number | undefined,
): Promise<T[]> {
  const items: T[] = [];
  let before: number | undefined;
  for (;;) {
    const want = Math.min(MAX_PAGE, limit === undefined ? MAX_PAGE : limit - items.length);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(base)) if (v !== undefined) query.set(k, v);
    query.set("limit", String(want));
    if (before !== undefined) query.set("before", String(before));
    const page = await fetchPage(query);
    items.push(...page);
    const last = page.at(-1);
    if (page.length < want || last === undefined || (limit !== undefined && items.length >= limit)) return items;
    before = last.seq;
  }
}
