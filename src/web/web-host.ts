import { isIP } from "node:net";

/**
 * Each published HMI opens on a host name of its own under the portal's web domain,
 * `w-<id>.<domain>`: the browser then keeps its cookies, storage and scripts apart from the
 * portal's and from every other HMI's (same-origin policy), and the HMI's absolute links work
 * unchanged. The portal itself stays on `<domain>`.
 */

const LABEL = /^w-([a-z0-9]{1,40})$/;

/** The host name of web target `id` under `domain`. */
export function webTargetHostname(id: string, domain: string): string {
  return `w-${id}.${domain}`;
}

/** Splits a Host header (`name`, `name:port`, `[v6]:port`) into lower-case name and port. */
export function splitHostHeader(host: string): { name: string; port: number | undefined } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return { name: host.toLowerCase(), port: undefined };
  return { name: match[1]!.toLowerCase(), port: match[2] ? Number(match[2]) : undefined };
}

/** The web target id a host name (SNI or Host header without port) addresses under `domain`, if any. */
export function webTargetIdOf(hostname: string, domain: string): string | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  const suffix = `.${domain.toLowerCase()}`;
  if (!name.endsWith(suffix)) return undefined;
  return LABEL.exec(name.slice(0, -suffix.length))?.[1];
}

/** The origin (scheme, host, port) of web target `id`, on the port the portal was reached on. */
export function webTargetOrigin(id: string, domain: string, port: number | undefined): string {
  const host = webTargetHostname(id, domain);
  return port === undefined || port === 443 ? `https://${host}` : `https://${host}:${port}`;
}

/** One year: what browsers' preload lists expect, and long enough to outlive any visit gap. */
const HSTS_MAX_AGE_S = 31_536_000;

/**
 * The Strict-Transport-Security value for an answer on `host` (a Host header), or undefined
 * where it would do harm or nothing: browsers ignore it on IP addresses (RFC 6797 §8.1),
 * and on `localhost` it would force HTTPS on every other local development server.
 * Without includeSubDomains: the portal's domain may hold other sites than ours.
 */
export function strictTransportSecurity(host: string): string | undefined {
  const { name } = splitHostHeader(host);
  const bare = name.replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (bare === "" || isIP(bare) !== 0 || bare === "localhost" || bare.endsWith(".localhost")) return undefined;
  return `max-age=${HSTS_MAX_AGE_S}`;
}
