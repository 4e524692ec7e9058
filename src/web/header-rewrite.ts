import { type IncomingHttpHeaders, type OutgoingHttpHeaders, STATUS_CODES } from "node:http";

/**
 * Header rewriting between the browser and an HMI reached through the tunnel. The HMI must
 * see requests as if they came on site (its own Host, Origin and Referer), and the browser
 * must see answers as if the HMI lived on its portal host name (Location), with cookies kept
 * to that one host. Pure functions, so each rule is tested on its own.
 */

/** The cookie that carries the browser's grant for one HMI host; never passed to the HMI. */
export const WEB_GRANT_COOKIE = "__Host-fernlink-web";

/** Where the HMI really is and where the browser sees it. */
export interface HmiOrigins {
  /** The HMI's own origin in the plant, e.g. `http://192.168.1.10` or `http://192.168.1.10:8080`. */
  target: string;
  /** The origin the browser uses, e.g. `https://w-k3j9.localhost:8443`. */
  public: string;
}

/** Connection-level headers that belong to one hop (RFC 9110 §7.6.1) or to HTTP/2 framing. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "http2-settings",
  "alt-svc",
]);

function dropHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(":") || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * A cookie's name and value as browsers read them (RFC 6265bis §5.6): the name is what
 * comes before the first `=`, trimmed of spaces and tabs; without `=`, the name is empty
 * and the whole pair is the value.
 */
export function splitCookiePair(pair: string): { name: string; value: string } {
  const eq = pair.indexOf("=");
  if (eq < 0) return { name: "", value: pair.replace(/^[ \t]+|[ \t]+$/g, "") };
  return { name: pair.slice(0, eq).replace(/^[ \t]+|[ \t]+$/g, ""), value: pair.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, "") };
}

/**
 * True for a cookie that could stand in for the grant cookie in a browser: its name in any
 * case (current browsers match the `__Host-` prefix case-insensitively), or a nameless
 * cookie whose value starts with it, which the browser sends back as `name=value`.
 */
function posesAsGrant(name: string, value: string): boolean {
  const grant = WEB_GRANT_COOKIE.toLowerCase();
  if (name === "") return value.toLowerCase().startsWith(grant) || /^__(host|secure)-/i.test(value);
  return name.toLowerCase() === grant;
}

/** The value of cookie `name` in a Cookie header (or in the several fields HTTP/2 browsers send). */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const all = Array.isArray(header) ? header.join("; ") : (header ?? "");
  for (const part of all.split(";")) {
    const cookie = splitCookiePair(part);
    if (cookie.name === name) return cookie.value;
  }
  return undefined;
}

/** The Cookie header without the grant cookie (HTTP/2 browsers may split cookies over several fields). */
export function withoutGrantCookie(cookie: string | string[] | undefined): string | undefined {
  if (cookie === undefined) return undefined;
  const pairs = (Array.isArray(cookie) ? cookie.join("; ") : cookie)
    .split(";")
    .map((s) => s.trim())
    .filter((s) => {
      if (s === "") return false;
      const { name, value } = splitCookiePair(s);
      return !posesAsGrant(name, value);
    });
  return pairs.length > 0 ? pairs.join("; ") : undefined;
}

/** Replaces `from` at the start of `value` with `to` (origins compared case-insensitively). */
function swapOrigin(value: string, from: string, to: string): string {
  if (value.toLowerCase() === from.toLowerCase()) return to;
  if (value.toLowerCase().startsWith(`${from.toLowerCase()}/`)) return to + value.slice(from.length);
  return value;
}

/** The headers to send the HMI for a browser request. */
export function hmiRequestHeaders(incoming: IncomingHttpHeaders, origins: HmiOrigins): OutgoingHttpHeaders {
  const out = dropHopByHop(incoming);
  delete out["cookie"];
  const cookie = withoutGrantCookie(incoming.cookie);
  if (cookie !== undefined) out["cookie"] = cookie;
  out["host"] = new URL(origins.target).host;
  if (typeof incoming.origin === "string") out["origin"] = swapOrigin(incoming.origin, origins.public, origins.target);
  if (typeof incoming.referer === "string") out["referer"] = swapOrigin(incoming.referer, origins.public, origins.target);
  return out;
}

/** A Location that points at the HMI itself (any scheme, same host and port) moves to the public origin. */
export function rewriteLocation(location: string, origins: HmiOrigins): string {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return location; // relative: already right on the public host
  }
  const target = new URL(origins.target);
  const sameHost =
    url.hostname.toLowerCase() === target.hostname.toLowerCase() && (url.port || defaultPort(url.protocol)) === (target.port || defaultPort(target.protocol));
  if (!sameHost || (url.protocol !== "http:" && url.protocol !== "https:")) return location;
  return origins.public + url.pathname + url.search + url.hash;
}

function defaultPort(protocol: string): string {
  return protocol === "https:" ? "443" : "80";
}

/**
 * A Set-Cookie made host-only: without `Domain` the browser keeps it to this HMI's host name,
 * so no other HMI (nor the portal) can read it. A cookie that could pass for the grant is
 * dropped, read as the browser reads it.
 */
export function rewriteSetCookie(line: string): string | undefined {
  const [pair = "", ...attributes] = line.split(";");
  const { name, value } = splitCookiePair(pair);
  if (posesAsGrant(name, value)) return undefined;
  const kept = attributes.filter((a) => !/^\s*domain\s*=/i.test(a));
  return [pair, ...kept].join(";");
}

/** The headers to send the browser for an HMI response. */
export function hmiResponseHeaders(upstream: IncomingHttpHeaders, origins: HmiOrigins): OutgoingHttpHeaders {
  const out = dropHopByHop(upstream);
  if (typeof upstream.location === "string") out["location"] = rewriteLocation(upstream.location, origins);
  const cookies = upstream["set-cookie"];
  if (cookies) {
    const kept = cookies.map(rewriteSetCookie).filter((c): c is string => c !== undefined);
    if (kept.length > 0) out["set-cookie"] = kept;
    else delete out["set-cookie"];
  }
  // The HMI's page is served over TLS now; an HSTS header would pin the portal's name to its own policy.
  delete out["strict-transport-security"];
  return out;
}

/** An HTTP/1.1 status line and header block, for answers written to a socket by hand (upgrades). */
export function responseHead(status: number, headers: OutgoingHttpHeaders): string {
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      // Values come from Node's parser or from us; a line break would still split the answer.
      if (v !== undefined && !/[\r\n]/.test(String(v))) lines.push(`${name}: ${String(v)}`);
    }
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}
