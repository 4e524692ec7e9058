import { useEffect, useState } from "preact/hooks";

/** The admin pages, by their `#/admin/<page>` segment. */
export const ADMIN_PAGES = {
  users: "Users",
  groups: "Groups",
  pools: "Pools",
  access: "Access rules",
  devices: "Manage devices",
  web: "Web targets",
  policy: "Account policy",
  notifications: "Notifications",
  audit: "Audit log",
  connections: "Connection report",
  live: "Live connections",
  status: "Status",
} as const;

/** One of the admin pages. */
export type AdminPage = keyof typeof ADMIN_PAGES;

/** Where the hash points. */
export type Route =
  | { page: "login" }
  | { page: "devices" }
  | { page: "device"; name: string }
  | { page: "vnc"; id: string }
  | { page: "password" }
  | { page: "admin"; admin: AdminPage }
  | { page: "not-found"; hash: string };

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Parses `#/devices/press-7` and friends. */
export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, "")
    .split("/")
    .filter((p) => p !== "");
  const [first, second, ...rest] = parts;
  const arg = second === undefined ? undefined : decode(second);
  if (rest.length > 0) return { page: "not-found", hash };
  if (first === undefined) return { page: "devices" };
  if (first === "login" && arg === undefined) return { page: "login" };
  if (first === "password" && arg === undefined) return { page: "password" };
  if (first === "devices") return arg === undefined ? { page: "devices" } : { page: "device", name: arg };
  if (first === "vnc" && arg) return { page: "vnc", id: arg };
  if (first === "admin" && arg !== undefined && Object.hasOwn(ADMIN_PAGES, arg)) return { page: "admin", admin: arg as AdminPage };
  return { page: "not-found", hash };
}

/** The hash of a device page. */
export function deviceHref(name: string): string {
  return `#/devices/${encodeURIComponent(name)}`;
}

/** The hash of an admin page. */
export function adminHref(page: AdminPage): string {
  return `#/admin/${page}`;
}

/** Goes to a hash route (a no-op when already there). */
export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** The current route; re-renders on every hash change. */
export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = (): void => setHash(location.hash);
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return parseRoute(hash);
}
