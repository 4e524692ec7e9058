import { isIP } from "node:net";
import { formatIpAddress, parseIpAddress } from "./ip-address.js";
import { parseHost, parsePort, TargetSyntaxError } from "./target.js";

/**
 * The URL of a web target: an HMI page (`http://`, `https://`) or a VNC panel (`vnc://`) in a
 * device's LAN. Parsed strictly: a URL that is not plainly one of these is refused with a
 * one-line reason, and a password never travels inside it.
 */

/** What a web target is: a web page over HTTP or HTTPS, or a VNC server. */
export type WebTargetKind = "http" | "https" | "vnc";

/** The kinds, in the order they are documented. */
export const WEB_TARGET_KINDS = ["http", "https", "vnc"] as const satisfies readonly WebTargetKind[];

/** Port of each kind when the URL names none. */
export const DEFAULT_PORTS: Readonly<Record<WebTargetKind, number>> = { http: 80, https: 443, vnc: 5900 };

/** A parsed web target URL; `path` is the page to open first (path, query, fragment), null for VNC. */
export interface WebTargetAddress {
  kind: WebTargetKind;
  /** Lower-case name or canonical IP address, IPv6 without brackets. */
  host: string;
  port: number;
  path: string | null;
}

/** Longest URL accepted (browsers and proxies agree on 2 KiB). */
export const MAX_URL_LENGTH = 2048;

const EXAMPLES = "e.g. http://192.168.1.10/ or vnc://192.168.1.20:5900";
// RFC 3986 characters of path, query and fragment; anything else must be percent-encoded.
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*$/;

function refuse(shown: string, why: string): TargetSyntaxError {
  return new TargetSyntaxError(`web target URL "${shown}"${why.startsWith(":") ? "" : " "}${why}`);
}

/** The URL as it may be quoted in a message: any `user:password@` replaced, never echoed. */
export function redactWebTargetUrl(text: string): string {
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1***@");
}

function canonicalHost(host: string): string {
  const ip = parseIpAddress(host);
  if (ip) return formatIpAddress(ip);
  return host.toLowerCase().replace(/\.$/, "");
}

function splitAuthority(authority: string, shown: string): { host: string; port: string | undefined } {
  const bracket = /^\[([^\]]*)\](?::([^:]*))?$/.exec(authority);
  if (bracket) return { host: bracket[1]!, port: bracket[2] };
  if (authority.startsWith("[")) throw refuse(shown, "has an unclosed '[' around its host");
  const colons = (authority.match(/:/g) ?? []).length;
  if (colons > 1) throw refuse(shown, "has an IPv6 host without brackets; write it as e.g. http://[fd00::5]:8080/");
  const idx = authority.indexOf(":");
  return idx < 0 ? { host: authority, port: undefined } : { host: authority.slice(0, idx), port: authority.slice(idx + 1) };
}

function parseAuthority(authority: string, kind: WebTargetKind, shown: string): { host: string; port: number } {
  const parts = splitAuthority(authority, shown);
  if (parts.host === "") throw refuse(shown, "has no host");
  if (parts.host.includes("%")) throw refuse(shown, "has a zone id (%) in its host; zone-scoped IPv6 addresses are not supported");
  if (authority.startsWith("[") && isIP(parts.host) !== 6) throw refuse(shown, `has "[${parts.host}]" where an IPv6 address belongs`);
  let host: string;
  let port: number;
  try {
    host = parseHost(parts.host);
    port = parts.port === undefined || parts.port === "" ? DEFAULT_PORTS[kind] : parsePort(parts.port);
  } catch (err) {
    throw refuse(shown, `: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { host: canonicalHost(host), port };
}

function parsePath(rest: string, kind: WebTargetKind, shown: string): string | null {
  if (kind === "vnc") {
    if (/[?#]/.test(rest)) throw refuse(shown, "has a query or fragment; vnc:// targets are a host and a port only");
    if (rest !== "" && rest !== "/") throw refuse(shown, `has the path "${rest}"; vnc:// targets are a host and a port only`);
    return null;
  }
  if (!PATH_CHARS.test(rest)) throw refuse(shown, "has characters in its path that must be percent-encoded (%XX)");
  if (/%(?![0-9A-Fa-f]{2})/.test(rest)) throw refuse(shown, "has a '%' that does not start a %XX escape");
  if ((rest.match(/#/g) ?? []).length > 1) throw refuse(shown, "has more than one '#'");
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * Parses `http://HOST[:PORT][/PATH]`, `https://…` or `vnc://HOST[:PORT]` (IPv6 in brackets);
 * throws TargetSyntaxError (code "invalid-target") with a one-line reason naming the URL.
 */
export function parseWebTargetUrl(text: string): WebTargetAddress {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are shown escaped in the error
  const shown = redactWebTargetUrl(text).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  if (text === "") throw refuse(shown, `is empty; write ${EXAMPLES}`);
  if (text.length > MAX_URL_LENGTH) throw refuse(`${shown.slice(0, 60)}…`, `is longer than ${MAX_URL_LENGTH} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a URL with control characters is refused
  if (/[\s\x00-\x1f\x7f]/.test(text)) throw refuse(shown, "contains white space or control characters");
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/)?(.*)$/s.exec(text);
  if (!match || match[2] === undefined) throw refuse(shown, `has no scheme; start it with http://, https:// or vnc://, ${EXAMPLES}`);
  const scheme = match[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https" && scheme !== "vnc") {
    throw refuse(shown, `uses "${scheme}:"; only http://, https:// and vnc:// targets can be published`);
  }
  const kind: WebTargetKind = scheme;
  const afterScheme = match[3]!;
  const end = afterScheme.search(/[/?#]/);
  const authority = end < 0 ? afterScheme : afterScheme.slice(0, end);
  const rest = end < 0 ? "" : afterScheme.slice(end);
  if (authority.includes("@")) {
    throw refuse(shown, 'has credentials in it; drop the "user:password@" part (a VNC password is given with --password-stdin, never in the URL)');
  }
  const { host, port } = parseAuthority(authority, kind, shown);
  return { kind, host, port, path: parsePath(rest, kind, shown) };
}

/**
 * The canonical text of a web target URL: lower-case scheme and host, IPv6 in brackets; the
 * port is left out of http(s) URLs when it is the default, and always shown for VNC.
 */
export function formatWebTargetUrl(address: WebTargetAddress): string {
  const host = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  if (address.kind === "vnc") return `vnc://${host}:${address.port}`;
  const port = address.port === DEFAULT_PORTS[address.kind] ? "" : `:${address.port}`;
  return `${address.kind}://${host}${port}${address.path ?? "/"}`;
}
